/** Every CLI command, in the order `--help` lists them. Add a command by importing its module here. */
import type { AiwatchCommand } from '../command.js';
import { notarizeCommand } from './notarize.js';
import { signProfileCommand } from './sign-profile.js';
import { stapleCommand } from './staple.js';

export const commands: AiwatchCommand[] = [signProfileCommand, notarizeCommand, stapleCommand];
