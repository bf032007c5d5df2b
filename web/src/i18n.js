// Texts of the share page: French first, English too. Keys are stable; {name} placeholders are
// filled by t(key, {name: ...}) and always inserted as text, never as HTML.

const FR = {
  'doc.title': 'Documents partagés — Coffre',
  brand: 'Coffre · documents partagés',
  'lang.switch': 'English',
  'lang.switch.label': 'Display this page in English',
  title: 'Documents partagés avec vous',
  loading: 'Ouverture du lien…',
  starting: 'Préparation du déchiffrement…',
  deriving: 'Vérification du mot de passe… (quelques secondes)',
  footer:
    'Les documents sont déchiffrés dans votre navigateur : le serveur ne reçoit ni la clé secrète du lien, ni le mot de passe, ni le contenu en clair.',

  'password.title': 'Ce lien est protégé par un mot de passe',
  'password.help':
    'Saisissez le mot de passe que la personne qui a partagé ces documents vous a communiqué.',
  'password.label': 'Mot de passe du lien',
  'password.submit': 'Ouvrir',
  'password.wrong':
    'Mot de passe incorrect. Vérifiez-le et réessayez : après 10 essais incorrects, le lien est bloqué.',
  'password.show': 'Afficher le mot de passe',

  'docs.title': 'Documents',
  'docs.meta': 'Partagés par {owner}. Accès possible jusqu’au {expires}.',
  'docs.count.one': '1 document',
  'docs.count.many': '{n} documents',
  'docs.empty': 'Ce partage ne contient aucun document.',
  'docs.size': 'Taille',
  'docs.type': 'Type',
  'docs.cert': 'Certification',
  'docs.download': 'Télécharger',
  'docs.download.label': 'Télécharger {name}',
  'docs.preview': 'Aperçu',
  'docs.preview.label': 'Aperçu de {name}',
  'docs.progress.label': 'Déchiffrement de {name}',
  'docs.progress': 'Déchiffrement et vérification… {percent} %',
  'docs.downloaded': 'Téléchargé : document vérifié et déchiffré.',
  'docs.previewed': 'Aperçu ouvert ci-dessous.',
  'docs.nopreview': 'Aperçu impossible pour ce fichier : téléchargez-le.',
  'docs.failed.integrity':
    'Ce document n’a pas pu être vérifié : il ne correspond pas à ce qui a été partagé. Rien n’a été téléchargé.',
  'docs.failed.unavailable':
    'Le lien n’est plus valable (expiré, révoqué ou session terminée) : rechargez la page ou demandez un nouveau lien.',
  'docs.failed.network': 'Le serveur est injoignable. Vérifiez votre connexion et réessayez.',
  'docs.failed.other': 'Le téléchargement a échoué. Réessayez.',

  'cert.none': 'Aucune',
  'cert.unverified':
    'Certificat non vérifié : aucune autorité de confiance n’est configurée sur cet appareil.',
  'cert.invalid': 'Non certifié : le certificat joint ne se vérifie pas.',
  'cert.certified': 'Certifié par {issuer}',
  'cert.authority': 'autorité de confiance : {authority}',

  'preview.title': 'Aperçu : {name}',
  'preview.close': 'Fermer l’aperçu',
  'preview.frame': 'Aperçu du document {name}',
  'preview.image': 'Aperçu de l’image {name}',

  'problem.unavailable.title': 'Ce lien n’est plus valable',
  'problem.unavailable.text':
    'Il a expiré, a été révoqué ou a atteint son nombre maximal d’ouvertures. Demandez un nouveau lien à la personne qui vous l’a envoyé.',
  'problem.wrong_secret.title': 'Ce lien est incorrect',
  'problem.wrong_secret.text':
    'Sa clé secrète ne correspond pas. Vérifiez que le lien a été copié en entier, sans coupure. Si la personne vous a aussi donné un mot de passe, utilisez le bouton ci-dessous.',
  'problem.wrong_secret.password': 'J’ai un mot de passe pour ce lien',
  'problem.damaged.title': 'Ce lien est incomplet ou abîmé',
  'problem.damaged.text':
    'La partie après le signe « # » manque ou a été modifiée. Copiez de nouveau le lien en entier.',
  'problem.integrity.title': 'Les documents n’ont pas pu être vérifiés',
  'problem.integrity.text':
    'Ce que le serveur a envoyé ne correspond pas à ce qui a été partagé : rien n’est affiché. Prévenez la personne qui vous a envoyé le lien.',
  'problem.network.title': 'Le serveur est injoignable',
  'problem.network.text': 'Vérifiez votre connexion internet, puis réessayez.',
  'problem.rate_limited.title': 'Trop de tentatives',
  'problem.rate_limited.text': 'Patientez quelques minutes, puis réessayez.',
  'problem.unsupported.title': 'Ce navigateur ne peut pas ouvrir ce lien',
  'problem.unsupported.text':
    'Essayez avec une version récente de Firefox, Chrome, Edge ou Safari.',
  'problem.server.title': 'Une erreur est survenue',
  'problem.server.text': 'Réessayez dans un moment. Si le problème continue, demandez un nouveau lien.',
  'problem.retry': 'Réessayer',

  'trust.summary': 'Autorités de confiance (documents certifiés)',
  'trust.help':
    'Un document certifié n’est affiché « Certifié par … » que si son certificat est signé par une autorité que vous avez ajoutée ici. Obtenez la clé publique de l’autorité par un canal sûr (votre structure, le site officiel de l’autorité) : ne l’acceptez jamais de la personne qui partage les documents. La liste est gardée dans ce navigateur seulement.',
  'trust.empty': 'Aucune autorité ajoutée.',
  'trust.name': 'Nom de l’autorité',
  'trust.key': 'Clé publique (43 caractères)',
  'trust.add': 'Ajouter l’autorité',
  'trust.remove': 'Retirer',
  'trust.remove.label': 'Retirer l’autorité {name}',
  'trust.bad': 'Cette clé n’est pas valable : elle doit faire 43 caractères (base64url).',
  'trust.added': 'Autorité {name} ajoutée.',
  'trust.removed': 'Autorité {name} retirée.',

  'unit.B': 'o',
  'unit.KB': 'Ko',
  'unit.MB': 'Mo',
  'unit.GB': 'Go',

  'format.pdf': 'Document PDF',
  'format.image': 'Image',
  'format.text': 'Texte',
  'format.other': 'Fichier',

  'type.birth-certificate': 'Acte de naissance',
  'type.id-card': 'Carte d’identité',
  'type.passport': 'Passeport',
  'type.residence-permit': 'Titre de séjour',
  'type.proof-of-address': 'Justificatif de domicile',
  'type.tax-notice': 'Avis d’imposition',
  'type.benefit-certificate': 'Attestation de droits',
  'type.payslip': 'Bulletin de salaire',
  'type.bank-details': 'Relevé d’identité bancaire',
  'type.health-insurance': 'Assurance maladie',
  'type.family-record': 'Livret de famille',
  'type.other': 'Autre document',
};

const EN = {
  'doc.title': 'Shared documents — Vault',
  brand: 'Vault · shared documents',
  'lang.switch': 'Français',
  'lang.switch.label': 'Afficher cette page en français',
  title: 'Documents shared with you',
  loading: 'Opening the link…',
  starting: 'Getting decryption ready…',
  deriving: 'Checking the password… (a few seconds)',
  footer:
    'Documents are decrypted in your browser: the server never receives the link’s secret key, the password or the plain content.',

  'password.title': 'This link is protected by a password',
  'password.help': 'Enter the password the person who shared these documents gave you.',
  'password.label': 'Link password',
  'password.submit': 'Open',
  'password.wrong':
    'Wrong password. Check it and try again: after 10 wrong attempts the link is locked.',
  'password.show': 'Show the password',

  'docs.title': 'Documents',
  'docs.meta': 'Shared by {owner}. Available until {expires}.',
  'docs.count.one': '1 document',
  'docs.count.many': '{n} documents',
  'docs.empty': 'This share holds no document.',
  'docs.size': 'Size',
  'docs.type': 'Type',
  'docs.cert': 'Certification',
  'docs.download': 'Download',
  'docs.download.label': 'Download {name}',
  'docs.preview': 'Preview',
  'docs.preview.label': 'Preview {name}',
  'docs.progress.label': 'Decrypting {name}',
  'docs.progress': 'Decrypting and verifying… {percent} %',
  'docs.downloaded': 'Downloaded: document verified and decrypted.',
  'docs.previewed': 'Preview opened below.',
  'docs.nopreview': 'No preview for this file: download it instead.',
  'docs.failed.integrity':
    'This document could not be verified: it does not match what was shared. Nothing was downloaded.',
  'docs.failed.unavailable':
    'The link is no longer valid (expired, revoked or session ended): reload the page or ask for a new link.',
  'docs.failed.network': 'The server cannot be reached. Check your connection and try again.',
  'docs.failed.other': 'The download failed. Try again.',

  'cert.none': 'None',
  'cert.unverified': 'Certificate not verified: no trusted authority is set up on this device.',
  'cert.invalid': 'Not certified: the attached certificate does not verify.',
  'cert.certified': 'Certified by {issuer}',
  'cert.authority': 'trusted authority: {authority}',

  'preview.title': 'Preview: {name}',
  'preview.close': 'Close the preview',
  'preview.frame': 'Preview of the document {name}',
  'preview.image': 'Preview of the image {name}',

  'problem.unavailable.title': 'This link is no longer valid',
  'problem.unavailable.text':
    'It has expired, been revoked or been opened the maximum number of times. Ask the person who sent it for a new link.',
  'problem.wrong_secret.title': 'This link is wrong',
  'problem.wrong_secret.text':
    'Its secret key does not match. Check that the whole link was copied, without a break. If you were also given a password, use the button below.',
  'problem.wrong_secret.password': 'I have a password for this link',
  'problem.damaged.title': 'This link is incomplete or damaged',
  'problem.damaged.text':
    'The part after the “#” sign is missing or was changed. Copy the whole link again.',
  'problem.integrity.title': 'The documents could not be verified',
  'problem.integrity.text':
    'What the server sent does not match what was shared: nothing is shown. Tell the person who sent you the link.',
  'problem.network.title': 'The server cannot be reached',
  'problem.network.text': 'Check your internet connection, then try again.',
  'problem.rate_limited.title': 'Too many attempts',
  'problem.rate_limited.text': 'Wait a few minutes, then try again.',
  'problem.unsupported.title': 'This browser cannot open this link',
  'problem.unsupported.text': 'Try a recent version of Firefox, Chrome, Edge or Safari.',
  'problem.server.title': 'Something went wrong',
  'problem.server.text': 'Try again in a moment. If it keeps failing, ask for a new link.',
  'problem.retry': 'Try again',

  'trust.summary': 'Trusted authorities (certified documents)',
  'trust.help':
    'A certified document is shown as “Certified by …” only when its certificate is signed by an authority you added here. Get the authority’s public key through a safe channel (your organisation, the authority’s official site): never accept it from the person who shares the documents. The list is kept in this browser only.',
  'trust.empty': 'No authority added.',
  'trust.name': 'Authority name',
  'trust.key': 'Public key (43 characters)',
  'trust.add': 'Add the authority',
  'trust.remove': 'Remove',
  'trust.remove.label': 'Remove the authority {name}',
  'trust.bad': 'This key is not valid: it must be 43 characters (base64url).',
  'trust.added': 'Authority {name} added.',
  'trust.removed': 'Authority {name} removed.',

  'unit.B': 'B',
  'unit.KB': 'kB',
  'unit.MB': 'MB',
  'unit.GB': 'GB',

  'format.pdf': 'PDF document',
  'format.image': 'Image',
  'format.text': 'Text',
  'format.other': 'File',

  'type.birth-certificate': 'Birth certificate',
  'type.id-card': 'Identity card',
  'type.passport': 'Passport',
  'type.residence-permit': 'Residence permit',
  'type.proof-of-address': 'Proof of address',
  'type.tax-notice': 'Tax notice',
  'type.benefit-certificate': 'Benefit certificate',
  'type.payslip': 'Payslip',
  'type.bank-details': 'Bank details',
  'type.health-insurance': 'Health insurance',
  'type.family-record': 'Family record book',
  'type.other': 'Other document',
};

export const LANGS = { fr: FR, en: EN };
let current = 'fr';

export function setLang(lang) {
  current = lang === 'en' ? 'en' : 'fr';
}

export function lang() {
  return current;
}

export function has(key) {
  return Object.hasOwn(LANGS[current], key);
}

export function t(key, vars = {}) {
  const table = LANGS[current];
  const text = Object.hasOwn(table, key) ? table[key] : Object.hasOwn(FR, key) ? FR[key] : key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
}

/** 1 234 567 bytes → "1,2 Mo" / "1.2 MB". */
export function formatSize(n) {
  const units = ['unit.B', 'unit.KB', 'unit.MB', 'unit.GB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const nf = new Intl.NumberFormat(current === 'fr' ? 'fr-FR' : 'en-GB', {
    maximumFractionDigits: u === 0 || v >= 100 ? 0 : 1,
  });
  return `${nf.format(v)}\u00a0${t(units[u])}`;
}

export function formatDate(unixSeconds) {
  return new Intl.DateTimeFormat(current === 'fr' ? 'fr-FR' : 'en-GB', {
    dateStyle: 'long',
    timeStyle: 'short',
  }).format(new Date(unixSeconds * 1000));
}
