"""The desktop app (``vault app``): the client daemon of one profile, serving a local web UI on
127.0.0.1, the way Syncthing does. The browser is only the screen: keys and the passphrase
stay in this process. docs/APP-API.md is the contract of its HTTP API; docs/ARCHITECTURE.md
says where it stands (a face over vault_client/service/, like the CLI)."""
