export {
  nvinferConfig,
  renderNvinferConfig,
  engineFileName,
  formatNumber,
  TAO_MEAN,
  TAO_SCALE,
  DETECTION_BLOB,
  MASK_BLOB,
  MASK_BLOB_V1,
  PARSER_V1,
  PARSER_V2,
  DEFAULT_CUSTOM_LIB,
  DEFAULT_TAO_APPS_DIR,
  DEEPSTREAM_PARSER_LIB,
} from './dsconfig.js';
export type { NvinferConfig, NvinferConfigOptions } from './dsconfig.js';
export { buildLabels, labelsFromCategories, readCategories, categoriesSlice, placeholderName, BACKGROUND, BIG_JSON } from './labels.js';
export type { Labels } from './labels.js';
export { parseIni, sectionMap, escapeValue, unescapeValue, IniError } from './ini.js';
export type { IniDocument, IniSection, IniEntry } from './ini.js';
export { deriveDeployment, checkConsumers, trtexecArgsFor, classesFromModel, MASK_OUTPUT_NAMES } from './deployment.js';
export type { Deployment, DeploymentInput, DeploymentNode, NvinferSettings } from './deployment.js';
