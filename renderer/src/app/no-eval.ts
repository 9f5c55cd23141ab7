import { z } from 'zod';

// Import this first. zod 4 probes `new Function` when the first object schema is built (at
// import time of shared/request.ts); under CSP script-src 'self' the probe is blocked and
// reported as a violation. jitless skips the probe and the eval-compiled fast path.
z.config({ jitless: true });
