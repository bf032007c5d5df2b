"""The release keys this client trusts for the web access page (SPEC §Release manifest).

``vault web check URL`` accepts a release manifest only when it is signed by one of these keys
(Ed25519, base64url); ``--key`` adds one for another deployment. They are never learned from a
server.

Rotation: a maintainer makes a new key (``python scripts/sign_release.py --new-key FILE``),
adds its public half here, and ships a client release with both keys; releases of the page are
then signed with the new key. Once the clients in use have the new key (a transition of at
least one client release), the old key is removed here. A key that leaked is removed at once
(a client release), since it can sign any page until then. docs/DEPLOYMENT.md, "Web access
releases", gives the steps.
"""

from __future__ import annotations

from vault_core.encoding import unb64u

RELEASE_KEYS: tuple[str, ...] = (
    # the project's release key since 2026-12-07, third session of the day (the second one's
    # seed was lost with the machine that held it, not leaked: it is kept for one client
    # release, as a rotation does, then removed)
    "JqU3cAloUAHdtWC-G0SSBDKP1cx8tTIVWB-Bg7DnGgc",
    # the second release key (2026-12-07): signs no new release
    "1LDkNHd6qIfNK3tcGF3HcNiK8RNlb1o_B4iascn7_pA",
)


def trusted_keys() -> list[bytes]:
    """The trusted release keys as bytes."""
    return [unb64u(k, 32, "release key") for k in RELEASE_KEYS]
