// Texts of the desktop app: French first, English too. One catalogue; keys are stable.
// {name} placeholders are filled by t(key, {name: ...}) and always inserted as text (textContent),
// never as HTML. The accessible names the contract fixes (docs: issue 18, shared CONTRACT.md)
// are the French values of the keys marked "contract".

const FR = {
  'app.title': 'Coffre',
  'app.skip': 'Aller au contenu',
  'app.loading': 'Chargement…',
  'app.nav': 'Menu principal',
  'app.session.title': 'Relancez l’application',
  'app.session.text':
    'Ce lien de lancement a expiré ou a déjà servi. Fermez cet onglet et lancez de nouveau l’application (commande « vault app ») : elle ouvrira un nouveau lien.',
  'app.daemon.title': 'L’application ne répond plus',
  'app.daemon.text': 'Le programme du coffre sur cet ordinateur est arrêté. Relancez-le (« vault app »), puis rechargez cette page.',
  'app.retry': 'Réessayer',
  'app.close': 'Fermer',
  'app.cancel': 'Annuler',
  'app.save': 'Enregistrer',
  'app.saved': 'Enregistré.',
  'app.busy': 'Un instant…',
  'app.error': 'Une erreur est survenue. Réessayez.',
  'app.offline': 'Le programme du coffre ne répond pas. Vérifiez qu’il tourne encore.',

  // onboarding (contract names)
  'onb.title': 'Bienvenue dans votre coffre',
  'onb.intro':
    'Vos papiers importants, chiffrés sur cet ordinateur avant d’être envoyés : personne d’autre que vous ne peut les lire.',
  'onb.create.title': 'Créer un coffre',
  'onb.create': 'Créer un coffre', // contract
  'onb.have': "J'ai déjà un coffre", // contract
  'onb.lost': "J'ai perdu ma phrase de passe", // contract
  'onb.login.title': 'Ajouter cet appareil à mon coffre',
  'onb.login': 'Se connecter', // contract
  'onb.recover.title': 'Récupérer mon coffre avec la clé de récupération',
  'onb.recover': 'Récupérer mon coffre', // contract
  'onb.other': 'Autres choix',
  'onb.server': 'Serveur', // contract
  'onb.server.help': 'L’adresse donnée par votre structure, par exemple https://coffre.exemple.fr',
  'onb.handle': 'Identifiant', // contract
  'onb.handle.help': 'Votre nom d’utilisateur : lettres minuscules, chiffres, tirets.',
  'onb.passphrase': 'Phrase de passe', // contract
  'onb.passphrase.help':
    'Plusieurs mots faciles à retenir pour vous, difficiles à deviner pour les autres. Elle ne quitte jamais cet ordinateur.',
  'onb.passphrase.new.help': 'Choisissez une nouvelle phrase de passe.',
  'onb.confirm': 'Confirmer la phrase de passe', // contract
  'onb.folder': 'Dossier', // contract
  'onb.folder.help': 'Le dossier de cet ordinateur où vos documents seront rangés et synchronisés.',
  'onb.rkey.input': 'Clé de récupération',
  'onb.rkey.input.help': 'La clé imprimée sur votre kit de récupération.',
  'onb.strength': 'Solidité de la phrase de passe',
  'onb.strength.0': 'Très faible',
  'onb.strength.1': 'Faible',
  'onb.strength.2': 'Moyenne',
  'onb.strength.3': 'Bonne',
  'onb.strength.4': 'Excellente',
  'onb.mismatch': 'Les deux phrases de passe ne sont pas identiques.',
  'onb.weak': 'Phrase de passe trop faible : {reason}',
  'onb.missing': 'Remplissez tous les champs.',
  'onb.creating': 'Création du coffre… (quelques secondes)',
  'onb.joining': 'Connexion… (quelques secondes)',
  'onb.recovering': 'Récupération… (quelques secondes)',
  'onb.done.title': 'Votre coffre est prêt',
  'onb.done.intro':
    'Voici votre clé de récupération. Elle est le seul moyen de retrouver vos documents si vous oubliez votre phrase de passe. Elle n’est montrée qu’une fois : imprimez-la ou recopiez-la, et gardez-la en lieu sûr, à part.',
  'onb.rkey': 'Clé de récupération', // contract
  'onb.print': 'Imprimer le kit de récupération', // contract
  'onb.stored': "J'ai mis ma clé en lieu sûr", // contract
  'onb.continue': 'Continuer', // contract

  'kit.title': 'Kit de récupération du coffre',
  'kit.handle': 'Identifiant',
  'kit.server': 'Serveur',
  'kit.date': 'Créé le',
  'kit.key': 'Clé de récupération',
  'kit.key.blank': '(recopiez ici la clé montrée à la création du coffre)',
  'kit.qr': 'QR code de la clé de récupération',
  'kit.steps': 'Que faire si j’oublie ma phrase de passe ?',
  'kit.step1': 'Ouvrez l’application du coffre et choisissez « J’ai perdu ma phrase de passe ».',
  'kit.step2': 'Saisissez le serveur, votre identifiant et cette clé de récupération.',
  'kit.step3': 'Choisissez une nouvelle phrase de passe : vos documents sont de nouveau accessibles.',
  'kit.warn':
    'Gardez cette feuille en lieu sûr, loin de votre ordinateur. Toute personne qui l’a entre les mains peut ouvrir votre coffre.',
  'kit.print': 'Imprimer',
  'kit.close': 'Fermer le kit',

  // unlock
  'unlock.title': 'Coffre verrouillé',
  'unlock.intro': 'Saisissez votre phrase de passe pour ouvrir le coffre de {handle}.',
  'unlock.passphrase': 'Phrase de passe', // contract
  'unlock.submit': 'Déverrouiller', // contract
  'unlock.busy': 'Vérification… (quelques secondes)',
  'unlock.wrong': 'Phrase de passe incorrecte. Vérifiez-la et réessayez.',
  'lock.button': 'Verrouiller', // contract
  'lock.auto': 'Le coffre a été verrouillé après {n} minutes sans activité.',
  'web.signout': 'Se déconnecter', // contract (web access)
  'web.auto': 'Vous avez été déconnecté après {n} minutes sans activité. Rien n’est resté dans ce navigateur.',
  'web.title': 'Votre coffre, depuis ce navigateur',
  'web.intro': 'Connectez-vous avec votre identifiant et votre phrase de passe. Tout est déchiffré ici, dans cette page ; rien n’est enregistré dans ce navigateur.',
  'web.signin': 'Se connecter', // contract (web access)
  'web.signing': 'Connexion… (quelques secondes)',
  'web.shared': 'Sur un ordinateur partagé, pensez à vous déconnecter : la session se ferme aussi seule après 15 minutes sans activité.',
  'web.security': 'Sécurité de l’accès web', // contract (web access)
  'web.broken.title': 'Cette page n’a pas pu être vérifiée',
  'web.broken.text': 'Un de ses fichiers n’est pas celui qui a été publié. Ne saisissez pas votre phrase de passe ici ; prévenez votre structure, ou utilisez l’application sur votre ordinateur.',
  'lock.auto.one': 'Le coffre a été verrouillé après 1 minute sans activité.',

  // navigation (contract)
  'nav.documents': 'Mes documents',
  'nav.inbox': 'Boîte de réception',
  'nav.requests': 'Demandes',
  'nav.shares': 'Partages',
  'nav.shared': 'Partagés avec moi',
  'nav.devices': 'Appareils',
  'nav.settings': 'Paramètres',
  'nav.desk': 'Espace administration', // contract (an issuer key only)
  'nav.badge': '{n} en attente',
  'nav.reminder.one': '1 rappel',
  'nav.reminder.many': '{n} rappels',

  // sync status
  'sync.idle': 'À jour', // contract
  'sync.syncing': 'Synchronisation… {n} fichiers',
  'sync.syncing.one': 'Synchronisation… 1 fichier',
  'sync.syncing.plain': 'Synchronisation…',
  'sync.offline': 'Hors ligne',
  'sync.offline.since': 'Hors ligne · dernière synchronisation {when}',
  'sync.locked': 'Verrouillé',
  'sync.error': 'Erreur de synchronisation',
  'sync.conflicts.one': '1 conflit',
  'sync.conflicts.many': '{n} conflits',
  'sync.progress': 'Progression de la synchronisation',

  // documents
  'docs.title': 'Mes documents',
  'docs.search': 'Rechercher', // contract
  'docs.add': 'Ajouter des documents', // contract
  'docs.addFolder': 'Ajouter un dossier',
  'docs.trash': 'Corbeille', // contract
  'docs.back': 'Retour à mes documents',
  'docs.drop': 'Ou glissez-déposez des fichiers et des dossiers ici.',
  'docs.dropping': 'Déposez pour ajouter à « {folder} »',
  'docs.root': 'Tous mes documents',
  'docs.breadcrumb': 'Emplacement',
  'docs.count.one': '1 document',
  'docs.count.many': '{n} documents',
  'docs.found': '{n} résultats pour « {q} »',
  'docs.empty': 'Aucun document pour l’instant. Ajoutez-en avec le bouton « Ajouter des documents ».',
  'docs.nomatch': 'Aucun document ne correspond à « {q} ».',
  'docs.list': 'Liste des documents',
  'docs.folder': 'Dossier',
  'docs.folder.count': 'Dossier · {n} documents',
  'docs.folder.count.one': 'Dossier · 1 document',
  'docs.open': 'Ouvrir {name}',
  'docs.history': 'Historique', // contract
  'docs.download': 'Télécharger', // contract
  'docs.certified': 'Certifié par {issuer}', // contract
  'docs.certproblem': 'Attention : certificat non valable ({problem})',
  'docs.modified': 'modifié le {date}',
  'docs.uploading': 'Envoi de {n} fichiers… {percent} %',
  'docs.uploaded.one': '1 document ajouté.',
  'docs.uploaded.many': '{n} documents ajoutés.',
  'docs.upload.progress': 'Progression de l’envoi',
  'docs.upload.failed': 'L’envoi a échoué. Rien n’a été ajouté. Réessayez.',
  'docs.conflicts.title': 'Conflits à régler',
  'docs.conflicts.intro':
    'Ces documents ont été modifiés sur deux appareils en même temps. Les deux versions sont gardées : choisissez laquelle conserver.',
  'docs.conflict.keep': 'Garder celle-ci',
  'docs.conflict.both': 'Garder les deux',
  'docs.conflict.done': 'Conflit réglé.',
  'docs.conflict.current': 'Version actuelle',
  'docs.conflict.from': 'Version de l’appareil « {device} »',
  'docs.conflict.other': 'Autre version',
  'docs.conflict.open': 'Voir cette version',
  'docs.conflict.both.help': 'Les deux versions restent, l’autre sous un nouveau nom.',
  'docs.copy': '{path} · {size} · {date}',

  'trash.title': 'Corbeille',
  'trash.empty': 'La corbeille est vide.',
  'trash.item': 'supprimé (version {v})',
  'trash.restore': 'Restaurer', // contract
  'trash.restored': '« {path} » a été restauré.',

  'history.title': 'Historique : {name}',
  'history.version': 'Version {v}',
  'history.current': 'version actuelle',
  'history.deleted': 'supprimée',
  'history.certified': 'certifiée',
  'history.restore': 'Restaurer', // contract
  'history.restored': 'Version {v} de « {path} » restaurée.',
  'history.empty': 'Aucune version.',

  'preview.title': 'Aperçu : {name}',
  'preview.frame': 'Contenu du document {name}',
  'preview.image': 'Image {name}',
  'preview.none': 'Pas d’aperçu pour ce type de fichier : téléchargez-le pour l’ouvrir.',
  'preview.tab': 'Ouvrir dans un nouvel onglet',
  'preview.pdf.loading': 'Ouverture du PDF…',
  'preview.pdf.failed': 'Ce PDF ne peut pas être affiché ici : téléchargez-le pour l’ouvrir.',
  'preview.pdf.pages.one': 'PDF, 1 page',
  'preview.pdf.pages': 'PDF, {n} pages',
  'preview.pdf.page': 'Page {n} sur {total} de {name}',
  'preview.pdf.more': 'Encore {n} pages : téléchargez le document pour tout voir.',

  // shares
  'shares.title': 'Partages',
  'shares.new': 'Nouveau partage', // contract
  'shares.intro':
    'Un lien de partage donne accès à quelques documents, pour un temps limité, à une personne de confiance (par exemple votre conseillère).',
  'shares.form.title': 'Nouveau partage',
  'shares.docs': 'Documents à partager',
  'shares.filter': 'Filtrer la liste',
  'shares.more': '{n} autres documents : filtrez la liste pour les voir.',
  'shares.duration': 'Durée', // contract
  'shares.d1': '1 jour',
  'shares.d7': '7 jours',
  'shares.d30': '30 jours',
  'shares.ddate': 'Jusqu’à une date',
  'shares.until': 'Date de fin',
  'shares.uses': "Nombre d'utilisations", // contract
  'shares.uses.help': 'Facultatif : vide = sans limite pendant la durée choisie.',
  'shares.password': 'Mot de passe', // contract
  'shares.password.help': 'Facultatif : à donner à part (par téléphone, par exemple).',
  'shares.account': 'Avec un compte', // contract
  'shares.account.help':
    'Facultatif : l’identifiant de la personne si elle a un compte. Sinon, un lien est créé.',
  'shares.fingerprint': 'Empreinte du compte {handle} : {fp}',
  'shares.fingerprint.help':
    'Comparez ces mots avec ceux que la personne voit dans son application (par téléphone ou en personne) avant de partager.',
  'shares.fingerprint.pinned': 'Compte déjà vérifié lors d’un partage précédent.',
  'shares.fingerprint.unknown': 'Aucun compte « {handle} » sur ce serveur.',
  'shares.create': 'Créer le lien', // contract
  'shares.creating': 'Création du partage…',
  'shares.nodocs': 'Cochez au moins un document ou un dossier.',
  'shares.baddate': 'Choisissez une date de fin dans le futur.',
  'shares.link': 'Lien', // contract
  'shares.copy': 'Copier', // contract
  'shares.copied': 'Lien copié.',
  'shares.qr': 'QR code du lien',
  'shares.created': 'Partage créé. Envoyez ce lien à la personne : il s’ouvre dans un navigateur.',
  'shares.created.account': 'Partage créé pour le compte {handle}.',
  'shares.list': 'Mes partages',
  'shares.none': 'Aucun partage pour l’instant.',
  'shares.link.kind': 'Lien',
  'shares.account.kind': 'Compte {to}',
  'shares.request.kind': 'Réponse à {to}',
  'shares.state.active': 'actif',
  'shares.state.revoked': 'révoqué',
  'shares.state.expired': 'expiré',
  'shares.state.exhausted': 'épuisé',
  'shares.expires': 'jusqu’au {date}',
  'shares.uses.count': '{uses} ouvertures',
  'shares.uses.left': '{n} restantes',
  'shares.log': 'Consultations', // contract
  'shares.log.title': 'Consultations',
  'shares.log.none': 'Personne n’a encore ouvert ce partage.',
  'shares.log.open': '{date} : ouverture',
  'shares.log.document': '{date} : document « {document} »',
  'shares.log.account': ' (compte {account})',
  'shares.revoke': 'Révoquer', // contract
  'shares.revoke.title': 'Révoquer ce partage ?',
  'shares.revoke.text': 'Le lien cessera de fonctionner immédiatement. Cette action est définitive.',
  'shares.revoked': 'Partage révoqué.',
  'shares.documents': 'Documents : {list}',

  // inbox
  'inbox.title': 'Boîte de réception',
  'inbox.intro': 'Les documents que des administrations vous ont envoyés. Acceptez-les pour les ranger dans votre coffre.',
  'inbox.none': 'Aucun document reçu.',
  'inbox.from': 'De : {issuer}',
  'inbox.certified': 'Certifié par {issuer}', // contract
  'inbox.uncertified': 'Attention : non certifié. Ce document dit venir de « {claimed} », mais rien ne le prouve.',
  'inbox.uncertified.anon': 'Attention : non certifié.',
  'inbox.problem': 'Attention : {problem}',
  'inbox.received': 'reçu le {date}',
  'inbox.preview': 'Aperçu',
  'inbox.folder': 'Ranger dans le dossier',
  'inbox.folder.help': 'Facultatif : laissez vide pour le dossier proposé.',
  'inbox.accept': 'Accepter', // contract
  'inbox.refuse': 'Refuser', // contract
  'inbox.accepted': 'Document rangé dans « {path} ».',
  'inbox.refused': 'Document refusé.',

  // requests
  'req.title': 'Demandes',
  'appt.title': 'Rendez-vous',
  'appt.none': 'Aucun rendez-vous.',
  'appt.when': 'Le {date}',
  'appt.place': 'Lieu : {place}',
  'appt.bring': 'À apporter :',
  'appt.bring.held': '{type} (déjà dans votre coffre)',
  'appt.bring.missing': '{type} (pas encore dans votre coffre)',
  'appt.ics': 'Ajouter à mon agenda',
  'appt.past': 'Rendez-vous passé.',
  'appt.uncertified': 'Attention : rendez-vous non certifié (dit venir de « {claimed} »).',
  'appt.problem': 'Attention : l’heure donnée par le serveur diffère de celle du rendez-vous signé.',
  'req.intro': 'Les documents que des administrations vous demandent.',
  'req.none': 'Aucune demande.',
  'req.from': 'De : {who}',
  'req.certified': 'Certifié par {issuer}',
  'req.uncertified': 'Attention : demande non certifiée (dit venir de « {claimed} »).',
  'req.trust': 'Vérifier « {name} »',
  'req.needs': 'Documents demandés : {list}',
  'req.due': 'À fournir avant le {date}',
  'req.state.open': 'en attente', // contract
  'req.state.overdue': 'en retard', // contract
  'req.state.answered': 'répondue', // contract
  'req.state.partial': 'en partie fournie',
  'ask.title': 'Demander un document',
  'ask.intro': 'Demandez à une administration (mairie, CAF…) une copie d’un document : elle le déposera, certifié, dans votre boîte de réception.',
  'ask.to': 'Administration',
  'ask.to.help': 'Son identifiant sur ce serveur, par exemple mairie-lyon.',
  'ask.type': 'Document demandé',
  'ask.message': 'Message (facultatif)',
  'ask.send': 'Envoyer la demande',
  'ask.sent': 'Demande envoyée.',
  'ask.list': 'Mes demandes aux administrations',
  'ask.item': '{type}, demandé à {to}',
  'ask.state.open': 'En attente de l’administration.',
  'ask.state.inbox': 'Reçu : le document vous attend dans la boîte de réception.',
  'ask.state.fulfilled': 'Reçu.',
  'ask.state.forged': 'Attention : la réponse montrée par le serveur est falsifiée.',
  // the issuer desk: Espace administration (contract names: the labels and buttons)
  'desk.title': 'Espace administration', // contract
  'desk.intro': 'Au nom de {name} : déposez des documents certifiés, demandez des pièces, fixez des rendez-vous et répondez aux demandes des usagers.',
  'desk.cert.ok': 'Certificat de {name}, valable jusqu’au {date}.',
  'desk.cert.none': 'Attention : cette administration n’a pas encore de certificat. Demandez-le à votre autorité, puis installez-le (commande « vault issuer set-cert »).',
  'desk.cert.expired': 'Attention : le certificat a expiré le {date}. Demandez-en un nouveau à votre autorité.',
  'desk.to': 'Destinataire', // contract
  'desk.to.help': 'Son identifiant sur ce serveur, par exemple jean.',
  'desk.missing.to': 'Donnez l’identifiant du destinataire.',
  'desk.type': 'Type', // contract
  'desk.doc.title': 'Titre', // contract
  'desk.doc.title.help': 'Facultatif : sinon le nom du fichier.',
  'desk.file': 'Fichier', // contract
  'desk.file.help': 'Jusqu’à 64 Mo.',
  'desk.nofile': 'Choisissez un fichier.',
  'desk.deposit.title': 'Déposer un document', // contract
  'desk.deposit.help': 'Le document est signé au nom de votre administration et chiffré pour son destinataire : il arrive, certifié, dans sa boîte de réception.',
  'desk.deposit': 'Déposer', // contract
  'desk.deposited': 'Document « {title} » déposé pour {to}.',
  'desk.req.title': 'Nouvelle demande', // contract
  'desk.req.help': 'Demandez des pièces à une personne : elle les voit dans ses Demandes et peut répondre pièce par pièce.',
  'desk.req.template': 'Modèle', // contract
  'desk.req.template.none': 'Aucun : je coche les documents',
  'desk.req.template.option': '{name} ({needs})',
  'desk.req.template.help': 'Un modèle apporte ses documents, son délai et son message ; les documents cochés s’y ajoutent.',
  'desk.req.template.empty': 'Aucun modèle enregistré (commande « vault issuer template create »).',
  'desk.req.needs': 'Documents demandés', // contract
  'desk.req.noneeds': 'Choisissez un modèle ou cochez au moins un document.',
  'desk.req.due': 'Échéance', // contract
  'desk.req.due.help': 'Facultative avec un modèle : son délai s’applique.',
  'desk.req.nodue': 'Donnez l’échéance (ou choisissez un modèle).',
  'desk.req.message': 'Message', // contract
  'desk.req.message.help': 'Facultatif avec un modèle : le sien s’applique.',
  'desk.req.nomessage': 'Écrivez un message (ou choisissez un modèle).',
  'desk.req.send': 'Envoyer la demande', // contract
  'desk.req.sent': 'Demande envoyée à {to}.',
  'desk.appt.title': 'Rendez-vous', // contract
  'desk.appt.help': 'La personne voit le rendez-vous, ce qu’elle doit apporter et si son coffre le contient déjà. Le serveur ne voit ni le lieu ni le message.',
  'desk.appt.at': 'Date et heure', // contract
  'desk.appt.nowhen': 'Donnez la date et l’heure du rendez-vous.',
  'desk.appt.place': 'Lieu', // contract
  'desk.appt.place.help': 'Adresse, bureau ou guichet.',
  'desk.appt.noplace': 'Donnez le lieu du rendez-vous.',
  'desk.appt.bring': 'À apporter', // contract
  'desk.appt.message.help': 'Facultatif.',
  'desk.appt.book': 'Fixer le rendez-vous', // contract
  'desk.appt.booked': 'Rendez-vous fixé avec {to} le {date}.',
  'desk.appt.list': 'Rendez-vous fixés',
  'desk.appt.item': '{date}, avec {to}',
  'desk.toc': 'Dans cette page',
  'desk.live.request': 'Du nouveau dans les demandes envoyées.',
  'desk.live.ask': 'Du nouveau dans les demandes des usagers.',
  'desk.refresh': 'Actualiser les listes',
  'desk.sent.title': 'Demandes envoyées',
  'desk.sent.help': 'Les demandes en retard d’abord, puis par échéance.',
  'desk.sent.none': 'Aucune demande envoyée.',
  'desk.sent.item': 'Demande à {to}',
  'desk.sent.due': 'Échéance : {date}',
  'desk.sent.provided': 'Fourni : {list}',
  'desk.sent.open': 'Les documents fournis sont dans « Partagés avec moi ».',
  'desk.sent.problem': 'Attention : la réponse montrée par le serveur n’est pas signée par la personne.',
  'desk.asks.title': 'Demandes des usagers',
  'desk.asks.help': 'Les documents que des personnes vous demandent : répondez par un dépôt certifié, qui arrive dans leur boîte de réception.',
  'desk.asks.none': 'Aucune demande d’usager.',
  'desk.asks.item': '{type}, demandé par {from}',
  'desk.asks.from': 'Demande de {from}',
  'desk.asks.created': 'Reçue le {date}',
  'desk.asks.open': 'En attente de votre réponse.',
  'desk.asks.fulfilled': 'Document envoyé.',
  'desk.asks.invalid': 'Attention : cette demande n’a pas pu être vérifiée (falsifiée ou abîmée).',
  'desk.asks.fulfil': 'Envoyer le document', // contract
  'desk.asks.done': 'Document envoyé à {from}.',
  'req.items': 'Pièces demandées',
  'req.item.provided': '{type} : fourni',
  'req.item.missing': '{type} : manquant',
  'req.for': 'Pour la pièce',
  'req.for.auto': 'Selon le type du document (ou toutes celles qui manquent)',
  'req.reminded': 'Rappel : la date approche',
  'req.state': 'État : {state}',
  'req.answer': 'Répondre', // contract
  'req.answer.title': 'Répondre à {who}',
  'req.answer.docs': 'Documents à envoyer',
  'req.answer.search': 'Chercher un autre document',
  'req.send': 'Envoyer', // contract
  'req.sent': 'Réponse envoyée.',
  'req.nodocs': 'Cochez au moins un document.',

  // shared with me
  'shared.title': 'Partagés avec moi',
  'shared.intro': 'Les documents que d’autres personnes ont partagés avec votre compte.',
  'shared.none': 'Rien n’a été partagé avec vous.',
  'shared.from': 'De : {owner}',
  'shared.expires': 'Accessible jusqu’au {date}',
  'shared.open': 'Ouvrir',
  'shared.items': 'Documents partagés par {owner}',
  'shared.download': 'Télécharger', // contract
  'shared.preview': 'Aperçu',

  // devices
  'dev.title': 'Appareils',
  'dev.intro': 'Les appareils qui ont accès à votre coffre. Retirez ceux que vous n’utilisez plus.',
  'dev.this': 'Cet appareil',
  'dev.added': 'ajouté le {date}',
  'dev.revoked': 'retiré le {date}',
  'dev.unverified': 'Attention : appareil non vérifié',
  'dev.remove': 'Retirer', // contract
  'dev.remove.title': 'Retirer l’appareil « {name} » ?',
  'dev.remove.text': 'Il n’aura plus accès au coffre. Pour le remettre, il faudra s’y reconnecter.',
  'dev.removed': 'Appareil retiré.',
  'dev.unnamed': 'Appareil sans nom',

  // settings
  'set.title': 'Paramètres',
  'set.reminders': 'Rappels',
  'set.reminders.help': 'Quand une demande a une date limite, le coffre vous le rappelle à votre rythme.',
  'set.before': 'Me rappeler … jours avant',
  'set.before.a': 'Me rappeler',
  'set.before.b': 'jours avant la date limite',
  'set.every': 'tous les … jours',
  'set.every.a': 'puis tous les',
  'set.every.b': 'jours',
  'set.never': 'Jamais',
  'set.language': 'Langue',
  'set.lang.fr': 'Français',
  'set.lang.en': 'English',
  'set.autolock': 'Verrouillage automatique (minutes sans activité)',
  'set.security': 'Sécurité',
  'set.notify': 'Activer les notifications de l’ordinateur',
  'set.notify.on': 'Les notifications sont activées.',
  'set.notify.off': 'Les notifications sont refusées par le navigateur.',
  'set.trusted': 'Autorités de confiance',
  'set.trusted.help':
    'Un document n’est « Certifié par … » que si son certificat vient d’une autorité de cette liste. Obtenez la clé de l’autorité par un canal sûr.',
  'set.trusted.none': 'Aucune autorité de confiance.',
  'set.trusted.fp': 'Empreinte : {fp}',
  'set.trust.name': 'Nom de l’autorité',
  'set.trust.key': 'Invitation (vault-trust:…) ou clé publique de l’autorité',
  'set.trust.add': 'Ajouter l’autorité',
  'set.trust.confirm.title': 'Faire confiance à « {name} » ?',
  'set.trust.confirm.text': 'Comparez ces six mots avec ceux de sa lettre ou de son écran ; s’ils diffèrent, n’acceptez pas : {fp}',
  'set.trust.confirm.ok': 'Faire confiance',
  'set.roots.title': 'Autorités proposées par {deployment}',
  'set.roots.new.help': 'L’opérateur de votre coffre propose ces autorités. Elles ne comptent qu’après votre accord : comparez leurs mots avec ceux de leurs lettres.',
  'set.roots.changed': 'Attention : cette liste a changé depuis votre accord. Rien de nouveau n’est reconnu tant que vous ne l’acceptez pas de nouveau.',
  'set.roots.accepted': 'Vous avez accepté ces autorités.',
  'set.roots.new': '{name} (nouvelle)',
  'set.roots.accept': 'Faire confiance à ces autorités',
  'set.roots.confirm.title': 'Faire confiance aux autorités de {deployment} ?',
  'set.roots.confirm.text': 'Chaque document certifié par l’une d’elles sera montré comme « Certifié ». Acceptez seulement si leurs mots sont ceux de leurs lettres.',
  'set.roots.done': 'Autorités de {deployment} acceptées.',
  'set.trust.added': 'Autorité « {name} » ajoutée. Comparez ces mots avec ceux de sa lettre ou de son écran : {fp}',
  'set.kit': 'Kit de récupération',
  'set.kit.help':
    'La clé de récupération n’a été montrée qu’une fois, à la création du coffre. Vous pouvez imprimer de nouveau la fiche, avec une place pour y recopier la clé.',
  'set.kit.print': 'Imprimer la fiche de récupération',
  'set.export': 'Exporter mon coffre',
  'set.export.help':
    'Tous vos documents dans leur forme d’origine, avec leurs certificats, leur historique et un inventaire (manifest.json, manifest.csv), dans un fichier .zip que votre navigateur enregistre où vous le choisissez.',
  'set.export.button': 'Exporter tout mon coffre',
  'set.export.started': 'Export en cours : le fichier .zip arrive dans vos téléchargements.',
  'set.account': 'Compte {handle} sur {server}',

  // live notices
  'live.share.opened': 'Un de vos liens de partage vient d’être ouvert.',
  'live.inbox': 'Nouveau document dans votre Boîte de réception.',
  'live.request': 'Nouvelle demande de document.',
  'live.reminder': 'Rappel : une demande attend votre réponse.',
  'live.reminders': 'Rappel : {n} demandes attendent votre réponse.',
  'live.conflict': 'Un conflit de synchronisation est à régler.',
  'live.changed': 'Votre coffre a changé.',
  'live.device': 'Un appareil de votre compte a été retiré.',
  'live.warning': 'Attention : une opération ne s’est pas déroulée comme prévu.',

  // formats
  'unit.B': 'o',
  'unit.KB': 'Ko',
  'unit.MB': 'Mo',
  'unit.GB': 'Go',

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
  'app.title': 'Vault',
  'app.skip': 'Skip to content',
  'app.loading': 'Loading…',
  'app.nav': 'Main menu',
  'app.session.title': 'Start the app again',
  'app.session.text':
    'This launch link has expired or was already used. Close this tab and start the app again (the “vault app” command): it opens a new link.',
  'app.daemon.title': 'The app does not answer',
  'app.daemon.text': 'The vault program on this computer has stopped. Start it again (“vault app”), then reload this page.',
  'app.retry': 'Try again',
  'app.close': 'Close',
  'app.cancel': 'Cancel',
  'app.save': 'Save',
  'app.saved': 'Saved.',
  'app.busy': 'One moment…',
  'app.error': 'Something went wrong. Try again.',
  'app.offline': 'The vault program does not answer. Check that it is still running.',

  'onb.title': 'Welcome to your vault',
  'onb.intro':
    'Your important papers, encrypted on this computer before they are sent: nobody else can read them.',
  'onb.create.title': 'Create a vault',
  'onb.create': 'Create a vault',
  'onb.have': 'I already have a vault',
  'onb.lost': 'I lost my passphrase',
  'onb.login.title': 'Add this device to my vault',
  'onb.login': 'Sign in',
  'onb.recover.title': 'Recover my vault with the recovery key',
  'onb.recover': 'Recover my vault',
  'onb.other': 'Other choices',
  'onb.server': 'Server',
  'onb.server.help': 'The address your organisation gave you, for example https://vault.example.org',
  'onb.handle': 'User name',
  'onb.handle.help': 'Lower-case letters, digits, dashes.',
  'onb.passphrase': 'Passphrase',
  'onb.passphrase.help':
    'Several words that are easy for you to remember and hard for others to guess. It never leaves this computer.',
  'onb.passphrase.new.help': 'Choose a new passphrase.',
  'onb.confirm': 'Confirm the passphrase',
  'onb.folder': 'Folder',
  'onb.folder.help': 'The folder on this computer where your documents are kept and synced.',
  'onb.rkey.input': 'Recovery key',
  'onb.rkey.input.help': 'The key printed on your recovery kit.',
  'onb.strength': 'Passphrase strength',
  'onb.strength.0': 'Very weak',
  'onb.strength.1': 'Weak',
  'onb.strength.2': 'Fair',
  'onb.strength.3': 'Good',
  'onb.strength.4': 'Excellent',
  'onb.mismatch': 'The two passphrases are not the same.',
  'onb.weak': 'Passphrase too weak: {reason}',
  'onb.missing': 'Fill in every field.',
  'onb.creating': 'Creating the vault… (a few seconds)',
  'onb.joining': 'Signing in… (a few seconds)',
  'onb.recovering': 'Recovering… (a few seconds)',
  'onb.done.title': 'Your vault is ready',
  'onb.done.intro':
    'Here is your recovery key. It is the only way to get your documents back if you forget your passphrase. It is shown only once: print it or copy it, and keep it somewhere safe, apart.',
  'onb.rkey': 'Recovery key',
  'onb.print': 'Print the recovery kit',
  'onb.stored': 'I put my key somewhere safe',
  'onb.continue': 'Continue',

  'kit.title': 'Vault recovery kit',
  'kit.handle': 'User name',
  'kit.server': 'Server',
  'kit.date': 'Created on',
  'kit.key': 'Recovery key',
  'kit.key.blank': '(copy here the key shown when the vault was created)',
  'kit.qr': 'QR code of the recovery key',
  'kit.steps': 'What if I forget my passphrase?',
  'kit.step1': 'Open the vault app and choose “I lost my passphrase”.',
  'kit.step2': 'Enter the server, your user name and this recovery key.',
  'kit.step3': 'Choose a new passphrase: your documents are available again.',
  'kit.warn': 'Keep this sheet somewhere safe, away from your computer. Anyone holding it can open your vault.',
  'kit.print': 'Print',
  'kit.close': 'Close the kit',

  'unlock.title': 'Vault locked',
  'unlock.intro': 'Enter your passphrase to open the vault of {handle}.',
  'unlock.passphrase': 'Passphrase',
  'unlock.submit': 'Unlock',
  'unlock.busy': 'Checking… (a few seconds)',
  'unlock.wrong': 'Wrong passphrase. Check it and try again.',
  'lock.button': 'Lock',
  'lock.auto': 'The vault was locked after {n} minutes without activity.',
  'web.signout': 'Sign out',
  'web.auto': 'You were signed out after {n} minutes without activity. Nothing was left in this browser.',
  'web.title': 'Your vault, from this browser',
  'web.intro': 'Sign in with your handle and passphrase. Everything is decrypted here, in this page; nothing is stored in this browser.',
  'web.signin': 'Sign in',
  'web.signing': 'Signing in… (a few seconds)',
  'web.shared': 'On a shared computer, remember to sign out: the session also closes by itself after 15 minutes without activity.',
  'web.security': 'Web access security',
  'web.broken.title': 'This page could not be verified',
  'web.broken.text': 'One of its files is not the published one. Do not type your passphrase here; tell your organisation, or use the app on your computer.',
  'lock.auto.one': 'The vault was locked after 1 minute without activity.',

  'nav.documents': 'My documents',
  'nav.inbox': 'Inbox',
  'nav.requests': 'Requests',
  'nav.shares': 'Shares',
  'nav.shared': 'Shared with me',
  'nav.devices': 'Devices',
  'nav.settings': 'Settings',
  'nav.desk': 'Administration desk',
  'nav.badge': '{n} waiting',
  'nav.reminder.one': '1 reminder',
  'nav.reminder.many': '{n} reminders',

  'sync.idle': 'Up to date',
  'sync.syncing': 'Syncing… {n} files',
  'sync.syncing.one': 'Syncing… 1 file',
  'sync.syncing.plain': 'Syncing…',
  'sync.offline': 'Offline',
  'sync.offline.since': 'Offline · last sync {when}',
  'sync.locked': 'Locked',
  'sync.error': 'Sync error',
  'sync.conflicts.one': '1 conflict',
  'sync.conflicts.many': '{n} conflicts',
  'sync.progress': 'Sync progress',

  'docs.title': 'My documents',
  'docs.search': 'Search',
  'docs.add': 'Add documents',
  'docs.addFolder': 'Add a folder',
  'docs.trash': 'Trash',
  'docs.back': 'Back to my documents',
  'docs.drop': 'Or drag and drop files and folders here.',
  'docs.dropping': 'Drop to add to “{folder}”',
  'docs.root': 'All my documents',
  'docs.breadcrumb': 'Location',
  'docs.count.one': '1 document',
  'docs.count.many': '{n} documents',
  'docs.found': '{n} results for “{q}”',
  'docs.empty': 'No document yet. Add some with the “Add documents” button.',
  'docs.nomatch': 'No document matches “{q}”.',
  'docs.list': 'Document list',
  'docs.folder': 'Folder',
  'docs.folder.count': 'Folder · {n} documents',
  'docs.folder.count.one': 'Folder · 1 document',
  'docs.open': 'Open {name}',
  'docs.history': 'History',
  'docs.download': 'Download',
  'docs.certified': 'Certified by {issuer}',
  'docs.certproblem': 'Warning: certificate not valid ({problem})',
  'docs.modified': 'modified on {date}',
  'docs.uploading': 'Sending {n} files… {percent} %',
  'docs.uploaded.one': '1 document added.',
  'docs.uploaded.many': '{n} documents added.',
  'docs.upload.progress': 'Upload progress',
  'docs.upload.failed': 'The upload failed. Nothing was added. Try again.',
  'docs.conflicts.title': 'Conflicts to settle',
  'docs.conflicts.intro':
    'These documents were changed on two devices at the same time. Both versions are kept: choose which one to keep.',
  'docs.conflict.keep': 'Keep this one',
  'docs.conflict.both': 'Keep both',
  'docs.conflict.done': 'Conflict settled.',
  'docs.conflict.current': 'Current version',
  'docs.conflict.from': 'Version from the device “{device}”',
  'docs.conflict.other': 'Other version',
  'docs.conflict.open': 'See this version',
  'docs.conflict.both.help': 'Both versions stay, the other one under a new name.',
  'docs.copy': '{path} · {size} · {date}',

  'trash.title': 'Trash',
  'trash.empty': 'The trash is empty.',
  'trash.item': 'deleted (version {v})',
  'trash.restore': 'Restore',
  'trash.restored': '“{path}” was restored.',

  'history.title': 'History: {name}',
  'history.version': 'Version {v}',
  'history.current': 'current version',
  'history.deleted': 'deleted',
  'history.certified': 'certified',
  'history.restore': 'Restore',
  'history.restored': 'Version {v} of “{path}” restored.',
  'history.empty': 'No version.',

  'preview.title': 'Preview: {name}',
  'preview.frame': 'Content of the document {name}',
  'preview.image': 'Image {name}',
  'preview.none': 'No preview for this kind of file: download it to open it.',
  'preview.tab': 'Open in a new tab',
  'preview.pdf.loading': 'Opening the PDF…',
  'preview.pdf.failed': 'This PDF cannot be shown here: download it to open it.',
  'preview.pdf.pages.one': 'PDF, 1 page',
  'preview.pdf.pages': 'PDF, {n} pages',
  'preview.pdf.page': 'Page {n} of {total} of {name}',
  'preview.pdf.more': '{n} more pages: download the document to see them all.',

  'shares.title': 'Shares',
  'shares.new': 'New share',
  'shares.intro':
    'A share link gives a trusted person (your counsellor, for example) access to a few documents for a limited time.',
  'shares.form.title': 'New share',
  'shares.docs': 'Documents to share',
  'shares.filter': 'Filter the list',
  'shares.more': '{n} more documents: filter the list to see them.',
  'shares.duration': 'Duration',
  'shares.d1': '1 day',
  'shares.d7': '7 days',
  'shares.d30': '30 days',
  'shares.ddate': 'Until a date',
  'shares.until': 'End date',
  'shares.uses': 'Number of uses',
  'shares.uses.help': 'Optional: empty = no limit during the chosen duration.',
  'shares.password': 'Password',
  'shares.password.help': 'Optional: give it separately (by phone, for example).',
  'shares.account': 'With an account',
  'shares.account.help': 'Optional: the person’s user name if they have an account. Otherwise a link is made.',
  'shares.fingerprint': 'Fingerprint of the account {handle}: {fp}',
  'shares.fingerprint.help':
    'Compare these words with the ones the person sees in their app (by phone or in person) before sharing.',
  'shares.fingerprint.pinned': 'Account already checked during an earlier share.',
  'shares.fingerprint.unknown': 'No account “{handle}” on this server.',
  'shares.create': 'Create the link',
  'shares.creating': 'Creating the share…',
  'shares.nodocs': 'Tick at least one document or folder.',
  'shares.baddate': 'Choose an end date in the future.',
  'shares.link': 'Link',
  'shares.copy': 'Copy',
  'shares.copied': 'Link copied.',
  'shares.qr': 'QR code of the link',
  'shares.created': 'Share created. Send this link to the person: it opens in a browser.',
  'shares.created.account': 'Share created for the account {handle}.',
  'shares.list': 'My shares',
  'shares.none': 'No share yet.',
  'shares.link.kind': 'Link',
  'shares.account.kind': 'Account {to}',
  'shares.request.kind': 'Answer to {to}',
  'shares.state.active': 'active',
  'shares.state.revoked': 'revoked',
  'shares.state.expired': 'expired',
  'shares.state.exhausted': 'used up',
  'shares.expires': 'until {date}',
  'shares.uses.count': '{uses} openings',
  'shares.uses.left': '{n} left',
  'shares.log': 'Accesses',
  'shares.log.title': 'Accesses',
  'shares.log.none': 'Nobody has opened this share yet.',
  'shares.log.open': '{date}: opened',
  'shares.log.document': '{date}: document “{document}”',
  'shares.log.account': ' (account {account})',
  'shares.revoke': 'Revoke',
  'shares.revoke.title': 'Revoke this share?',
  'shares.revoke.text': 'The link stops working at once. This cannot be undone.',
  'shares.revoked': 'Share revoked.',
  'shares.documents': 'Documents: {list}',

  'inbox.title': 'Inbox',
  'inbox.intro': 'Documents that administrations sent you. Accept them to file them in your vault.',
  'inbox.none': 'No document received.',
  'inbox.from': 'From: {issuer}',
  'inbox.certified': 'Certified by {issuer}',
  'inbox.uncertified': 'Warning: not certified. This document says it comes from “{claimed}”, but nothing proves it.',
  'inbox.uncertified.anon': 'Warning: not certified.',
  'inbox.problem': 'Warning: {problem}',
  'inbox.received': 'received on {date}',
  'inbox.preview': 'Preview',
  'inbox.folder': 'File in the folder',
  'inbox.folder.help': 'Optional: leave empty for the suggested folder.',
  'inbox.accept': 'Accept',
  'inbox.refuse': 'Refuse',
  'inbox.accepted': 'Document filed in “{path}”.',
  'inbox.refused': 'Document refused.',

  'req.title': 'Requests',
  'appt.title': 'Appointments',
  'appt.none': 'No appointment.',
  'appt.when': 'On {date}',
  'appt.place': 'Place: {place}',
  'appt.bring': 'To bring:',
  'appt.bring.held': '{type} (already in your vault)',
  'appt.bring.missing': '{type} (not in your vault yet)',
  'appt.ics': 'Add to my calendar',
  'appt.past': 'Past appointment.',
  'appt.uncertified': 'Warning: appointment not certified (says it comes from “{claimed}”).',
  'appt.problem': 'Warning: the time the server gives differs from the signed appointment’s.',
  'req.intro': 'Documents that administrations ask you for.',
  'req.none': 'No request.',
  'req.from': 'From: {who}',
  'req.certified': 'Certified by {issuer}',
  'req.uncertified': 'Warning: request not certified (says it comes from “{claimed}”).',
  'req.trust': 'Check “{name}”',
  'req.needs': 'Documents asked for: {list}',
  'req.due': 'Due by {date}',
  'req.state.open': 'waiting',
  'req.state.overdue': 'late',
  'req.state.answered': 'answered',
  'req.state.partial': 'partly provided',
  'ask.title': 'Ask for a document',
  'ask.intro': 'Ask an administration (city hall, benefits office…) for a copy of a document: it will deposit it, certified, in your inbox.',
  'ask.to': 'Administration',
  'ask.to.help': 'Its handle on this server, for example mairie-lyon.',
  'ask.type': 'Document asked for',
  'ask.message': 'Message (optional)',
  'ask.send': 'Send the request',
  'ask.sent': 'Request sent.',
  'ask.list': 'My requests to administrations',
  'ask.item': '{type}, asked of {to}',
  'ask.state.open': 'Waiting for the administration.',
  'ask.state.inbox': 'Received: the document waits in your inbox.',
  'ask.state.fulfilled': 'Received.',
  'ask.state.forged': 'Warning: the answer the server shows is forged.',
  'desk.title': 'Administration desk',
  'desk.intro': 'On behalf of {name}: deposit certified documents, ask for documents, book appointments and answer citizens’ requests.',
  'desk.cert.ok': 'Certificate of {name}, valid until {date}.',
  'desk.cert.none': 'Warning: this administration has no certificate yet. Ask your authority for one, then install it (command “vault issuer set-cert”).',
  'desk.cert.expired': 'Warning: the certificate expired on {date}. Ask your authority for a new one.',
  'desk.to': 'Recipient',
  'desk.to.help': 'Their handle on this server, for example jean.',
  'desk.missing.to': 'Give the recipient’s handle.',
  'desk.type': 'Type',
  'desk.doc.title': 'Title',
  'desk.doc.title.help': 'Optional: the file’s name otherwise.',
  'desk.file': 'File',
  'desk.file.help': 'Up to 64 MB.',
  'desk.nofile': 'Choose a file.',
  'desk.deposit.title': 'Deposit a document',
  'desk.deposit.help': 'The document is signed on behalf of your administration and encrypted for its recipient: it arrives, certified, in their inbox.',
  'desk.deposit': 'Deposit',
  'desk.deposited': 'Document “{title}” deposited for {to}.',
  'desk.req.title': 'New request',
  'desk.req.help': 'Ask someone for documents: they see them in their Requests and can answer item by item.',
  'desk.req.template': 'Template',
  'desk.req.template.none': 'None: I tick the documents',
  'desk.req.template.option': '{name} ({needs})',
  'desk.req.template.help': 'A template brings its documents, its delay and its message; the documents ticked are added.',
  'desk.req.template.empty': 'No saved template (command “vault issuer template create”).',
  'desk.req.needs': 'Documents asked for',
  'desk.req.noneeds': 'Choose a template or tick at least one document.',
  'desk.req.due': 'Due date',
  'desk.req.due.help': 'Optional with a template: its delay applies.',
  'desk.req.nodue': 'Give the due date (or choose a template).',
  'desk.req.message': 'Message',
  'desk.req.message.help': 'Optional with a template: its own applies.',
  'desk.req.nomessage': 'Write a message (or choose a template).',
  'desk.req.send': 'Send the request',
  'desk.req.sent': 'Request sent to {to}.',
  'desk.appt.title': 'Appointments',
  'desk.appt.help': 'The person sees the appointment, what to bring and whether their vault already holds it. The server sees neither the place nor the message.',
  'desk.appt.at': 'Date and time',
  'desk.appt.nowhen': 'Give the appointment’s date and time.',
  'desk.appt.place': 'Place',
  'desk.appt.place.help': 'Address, office or desk.',
  'desk.appt.noplace': 'Give the appointment’s place.',
  'desk.appt.bring': 'To bring',
  'desk.appt.message.help': 'Optional.',
  'desk.appt.book': 'Book the appointment',
  'desk.appt.booked': 'Appointment booked with {to} on {date}.',
  'desk.appt.list': 'Appointments booked',
  'desk.appt.item': '{date}, with {to}',
  'desk.toc': 'On this page',
  'desk.live.request': 'News in the requests sent.',
  'desk.live.ask': 'News in the citizens’ requests.',
  'desk.refresh': 'Refresh the lists',
  'desk.sent.title': 'Requests sent',
  'desk.sent.help': 'Late requests first, then by due date.',
  'desk.sent.none': 'No request sent.',
  'desk.sent.item': 'Request to {to}',
  'desk.sent.due': 'Due date: {date}',
  'desk.sent.provided': 'Provided: {list}',
  'desk.sent.open': 'The documents provided are in “Shared with me”.',
  'desk.sent.problem': 'Warning: the answer the server shows is not signed by the person.',
  'desk.asks.title': 'Citizens’ requests',
  'desk.asks.help': 'The documents people ask you for: answer with a certified deposit, which arrives in their inbox.',
  'desk.asks.none': 'No citizen request.',
  'desk.asks.item': '{type}, asked by {from}',
  'desk.asks.from': 'Request from {from}',
  'desk.asks.created': 'Received on {date}',
  'desk.asks.open': 'Waiting for your answer.',
  'desk.asks.fulfilled': 'Document sent.',
  'desk.asks.invalid': 'Warning: this request could not be verified (forged or damaged).',
  'desk.asks.fulfil': 'Send the document',
  'desk.asks.done': 'Document sent to {from}.',
  'req.items': 'Documents asked for',
  'req.item.provided': '{type}: provided',
  'req.item.missing': '{type}: missing',
  'req.for': 'For the item',
  'req.for.auto': 'By the document’s type (or all those missing)',
  'req.reminded': 'Reminder: the date is near',
  'req.state': 'State: {state}',
  'req.answer': 'Answer',
  'req.answer.title': 'Answer {who}',
  'req.answer.docs': 'Documents to send',
  'req.answer.search': 'Find another document',
  'req.send': 'Send',
  'req.sent': 'Answer sent.',
  'req.nodocs': 'Tick at least one document.',

  'shared.title': 'Shared with me',
  'shared.intro': 'Documents other people shared with your account.',
  'shared.none': 'Nothing was shared with you.',
  'shared.from': 'From: {owner}',
  'shared.expires': 'Available until {date}',
  'shared.open': 'Open',
  'shared.items': 'Documents shared by {owner}',
  'shared.download': 'Download',
  'shared.preview': 'Preview',

  'dev.title': 'Devices',
  'dev.intro': 'The devices that can open your vault. Remove the ones you no longer use.',
  'dev.this': 'This device',
  'dev.added': 'added on {date}',
  'dev.revoked': 'removed on {date}',
  'dev.unverified': 'Warning: unverified device',
  'dev.remove': 'Remove',
  'dev.remove.title': 'Remove the device “{name}”?',
  'dev.remove.text': 'It will no longer open the vault. To bring it back, sign in on it again.',
  'dev.removed': 'Device removed.',
  'dev.unnamed': 'Unnamed device',

  'set.title': 'Settings',
  'set.reminders': 'Reminders',
  'set.reminders.help': 'When a request has a deadline, the vault reminds you at your own pace.',
  'set.before': 'Remind me … days before',
  'set.before.a': 'Remind me',
  'set.before.b': 'days before the deadline',
  'set.every': 'every … days',
  'set.every.a': 'then every',
  'set.every.b': 'days',
  'set.never': 'Never',
  'set.language': 'Language',
  'set.lang.fr': 'Français',
  'set.lang.en': 'English',
  'set.autolock': 'Automatic lock (minutes without activity)',
  'set.security': 'Security',
  'set.notify': 'Turn on computer notifications',
  'set.notify.on': 'Notifications are on.',
  'set.notify.off': 'The browser refuses notifications.',
  'set.trusted': 'Trusted authorities',
  'set.trusted.help':
    'A document is “Certified by …” only when its certificate comes from an authority in this list. Get the authority’s key through a safe channel.',
  'set.trusted.none': 'No trusted authority.',
  'set.trusted.fp': 'Fingerprint: {fp}',
  'set.trust.name': 'Authority name',
  'set.trust.key': 'Invitation (vault-trust:…) or authority public key',
  'set.trust.add': 'Add the authority',
  'set.trust.confirm.title': 'Trust “{name}”?',
  'set.trust.confirm.text': 'Compare these six words with those on its letter or screen; if they differ, do not accept: {fp}',
  'set.trust.confirm.ok': 'Trust',
  'set.roots.title': 'Authorities proposed by {deployment}',
  'set.roots.new.help': 'The operator of your vault proposes these authorities. They count only once you agree: compare their words with those on their letters.',
  'set.roots.changed': 'Warning: this list changed since you agreed. Nothing new is trusted until you accept it again.',
  'set.roots.accepted': 'You accepted these authorities.',
  'set.roots.new': '{name} (new)',
  'set.roots.accept': 'Trust these authorities',
  'set.roots.confirm.title': 'Trust the authorities of {deployment}?',
  'set.roots.confirm.text': 'Every document certified by one of them will show as “Certified”. Accept only if their words are those on their letters.',
  'set.roots.done': 'Authorities of {deployment} accepted.',
  'set.trust.added': 'Authority “{name}” added. Compare these words with those on its letter or screen: {fp}',
  'set.kit': 'Recovery kit',
  'set.kit.help':
    'The recovery key was shown only once, when the vault was created. You can print the sheet again, with room to copy the key.',
  'set.kit.print': 'Print the recovery sheet',
  'set.export': 'Export my vault',
  'set.export.help':
    'All your documents in their original form, with their certificates, their history and an inventory (manifest.json, manifest.csv), in a .zip file your browser saves where you choose.',
  'set.export.button': 'Export my whole vault',
  'set.export.started': 'Export under way: the .zip file will arrive in your downloads.',
  'set.account': 'Account {handle} on {server}',

  'live.share.opened': 'One of your share links was just opened.',
  'live.inbox': 'New document in your Inbox.',
  'live.request': 'New document request.',
  'live.reminder': 'Reminder: a request is waiting for your answer.',
  'live.reminders': 'Reminder: {n} requests are waiting for your answer.',
  'live.conflict': 'A sync conflict needs settling.',
  'live.changed': 'Your vault changed.',
  'live.device': 'A device of your account was removed.',
  'live.warning': 'Warning: an operation did not go as planned.',

  'unit.B': 'B',
  'unit.KB': 'kB',
  'unit.MB': 'MB',
  'unit.GB': 'GB',

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

export function setLang(l) {
  current = l === 'en' ? 'en' : 'fr';
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

export function formatNumber(n) {
  return new Intl.NumberFormat(current === 'fr' ? 'fr-FR' : 'en-GB').format(n);
}

export function typeLabel(type) {
  if (!type) return '';
  return has(`type.${type}`) ? t(`type.${type}`) : type;
}

/** 1 234 567 bytes → "1,2 Mo" / "1.2 MB". */
export function formatSize(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
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

/** A date from the API: epoch seconds, epoch milliseconds, or an ISO 8601 string. */
export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return new Date(value > 1e11 ? value : value * 1000);
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return toDate(Number(value));
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

const fmtCache = new Map();
function fmt(kind) {
  const key = `${current}:${kind}`;
  if (!fmtCache.has(key)) {
    const opts = kind === 'day' ? { dateStyle: 'long' } : kind === 'time' ? { timeStyle: 'short' } : { dateStyle: 'medium', timeStyle: 'short' };
    fmtCache.set(key, new Intl.DateTimeFormat(current === 'fr' ? 'fr-FR' : 'en-GB', opts));
  }
  return fmtCache.get(key);
}

export function formatDate(value, kind = 'full') {
  const d = toDate(value);
  return d ? fmt(kind).format(d) : '';
}
