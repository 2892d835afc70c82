"""The composition root: the command line, the wiring of configuration, storage and the
platform adapters into a desk, and which adapters run. The only part of `bot` that knows
`storage` and `adapters`; the rest of the core sees them through `bot.ports`."""
