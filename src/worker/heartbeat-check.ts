import path from 'node:path';
import { heartbeatFile, heartbeatMaxAgeMs, isAlive } from './heartbeat.js';

// The worker container's health check: `node dist/worker/heartbeat-check.js` exits 0 while this
// host's worker ticks, 1 otherwise. It reads DATA_DIR and TICK_INTERVAL_MS as the worker does.
const dataDir = path.resolve(process.env.DATA_DIR ?? './var');
const tickIntervalMs = Number(process.env.TICK_INTERVAL_MS ?? 1000) || 1000;
process.exitCode = isAlive(heartbeatFile(dataDir), heartbeatMaxAgeMs(tickIntervalMs)) ? 0 : 1;
