// The sentence the page shows for each failure code of the web engine, in French and English
// (the desktop daemon sends its own, from the Python catalogue; the page shows `message`).
export const MESSAGES = {
  unauthorized: ['Identifiant ou phrase de passe incorrect.', 'Wrong handle or passphrase.'],
  rate_limited: ['Trop d’essais. Réessayez dans quelques minutes.', 'Too many attempts. Try again in a few minutes.'],
  weak_parameters: [
    'Le serveur propose des paramètres de sécurité trop faibles : la connexion est refusée.',
    'The server offers security parameters below the floor: sign-in refused.',
  ],
  integrity: [
    'Des données reçues du serveur ont été modifiées ou falsifiées : rien n’a été affiché ni enregistré.',
    'Data from the server was altered or forged: nothing was shown or saved.',
  ],
  unavailable: ['Le serveur ne répond pas. Vérifiez la connexion et réessayez.', 'The server does not answer. Check the connection and try again.'],
  locked: ['Votre session est terminée. Reconnectez-vous.', 'Your session has ended. Sign in again.'],
  not_found: ['Ce document n’existe plus dans le coffre.', 'This document is no longer in the vault.'],
  usage: ['Ce nom de fichier ou cette saisie n’est pas accepté.', 'This file name or input is not accepted.'],
  conflict: [
    'Ce document a été modifié ailleurs pendant l’envoi : rechargez la liste et réessayez.',
    'This document was changed elsewhere during the upload: reload the list and try again.',
  ],
  quota: ['Votre espace de stockage est plein : rien n’a été ajouté.', 'Your storage is full: nothing was added.'],
  forbidden: ['Cet appareil n’a plus accès au coffre.', 'This device no longer has access to the vault.'],
  uncertified: [
    'Cette demande n’est pas certifiée par une autorité de confiance : vérifiez d’abord l’administration.',
    'This request is not certified by a trusted authority: check the administration first.',
  ],
  unsupported: [
    'Pas encore possible depuis l’accès web : utilisez l’application sur votre ordinateur.',
    'Not possible from web access yet: use the app on your computer.',
  ],
  error: ['Une erreur est survenue. Réessayez.', 'Something went wrong. Try again.'],
};

export function messageOf(code) {
  const [fr, en] = MESSAGES[code] || MESSAGES.error;
  return { code, message: fr, message_en: en };
}

/** What an interrupted upload says: where it stopped, what is in the vault, what is not. */
export function uploadStopped(code, { added, failed, notSent }) {
  const base = messageOf(code);
  const name = String(failed).split('/').pop();
  const n = added.length;
  const fr = n === 0 ? 'rien n’a été ajouté' : n === 1 ? '1 document ajouté' : `${n} documents ajoutés`;
  const en = n === 0 ? 'nothing was added' : n === 1 ? '1 document added' : `${n} documents added`;
  const frLeft = notSent === 1 ? '1 document non envoyé' : `${notSent} documents non envoyés`;
  const enLeft = notSent === 1 ? '1 document not sent' : `${notSent} documents not sent`;
  return {
    code,
    message: `L’envoi s’est arrêté à « ${name} » : ${fr}, ${frLeft}. ${base.message}`,
    message_en: `The upload stopped at “${name}”: ${en}, ${enLeft}. ${base.message_en}`,
    added,
  };
}
