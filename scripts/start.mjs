#!/usr/bin/env node
// `npm start`: runs the built service. The build happens at `npm install`; if src/ has changed
// since, it is built again first (once, whatever the number of processes starting together),
// and the start says so. `node dist/main.js` starts the build as it is, checking nothing.
//
// package.json starts it with young-generation semi-spaces of 8 MB instead of V8's 16: the
// one-process default is the small publication's, whose idle memory counts more than the last
// percent of sending speed, and an idle process keeps both semi-spaces resident (17 MB less
// measured). Separate api and worker processes (`node dist/main.js`) keep V8's default.
import module from 'node:module';
import { ensureBuilt } from './build.mjs';

await ensureBuilt();
// Node 22 and later keep the compiled code of every module between starts; Node 20 has no cache.
module.enableCompileCache?.();
await import('../dist/main.js');
