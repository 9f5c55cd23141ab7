import './app/no-eval.js';
import { chooseClient } from './api/index.js';
import { mount } from './app/mount.js';

mount(chooseClient());
