"""The vault sync server: aiohttp API (protocol/API.md) over two storage interfaces."""
