// The standalone debug adapter entry point (`node dist/adapter.js`, DAP over stdio). The adapter
// itself is built on the simulation engine, which does not exist yet; until then this entry point
// answers every client with one clear error and exits non-zero instead of hanging.
process.stderr.write('xsave-debug: the debug adapter is not available in this version; use `xsave-sim layout`.\n');
process.exitCode = 1;
