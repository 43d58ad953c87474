// Entry of the embedded broker thread (thread.ts): registers tsx first when the parent runs from
// TypeScript source, then loads the real module.
import { workerData } from 'node:worker_threads';

if (workerData.tsx) (await import(workerData.tsx)).register();
await import(workerData.main);
