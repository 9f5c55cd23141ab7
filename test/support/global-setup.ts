/** vitest global set-up for `npm test` (not the fast tier): models the tests read, made once. */
import { ensureTvMaskRcnn } from './torchvision.js';

export default function setup(): void {
  ensureTvMaskRcnn();
}
