/** Every CLI command, in the order `--help` lists them. Add a command by importing its module here. */
import type { AiwatchCommand } from '../command.js';

export const commands: AiwatchCommand[] = [];
