/**
 * Every verifier `verify` knows, registered once. To add a kind, register it in your module's function and call
 * that function here (one line each).
 */
import { registerProfileVerifiers } from './profile-verifiers.js';

let done = false;

export function registerAllVerifiers(): void {
  if (done) return;
  done = true;
  registerProfileVerifiers();
}
