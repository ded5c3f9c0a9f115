/**
 * What every driver's session shares (jamf, intune, kandji, fleet driver.ts): the entries of its last plan, the
 * entry `apply` acts on, what was done to the server so far (sign-ins count as reads) and an empty `close`.
 */
import { UsageError } from '../errors.js';
import type { MdmSession, PlannedObject, RequestCounts } from '../rollout/model.js';

export abstract class PlannedSession<E extends { planned: PlannedObject }> implements MdmSession {
  /** The entries of this session's last plan. */
  protected entries: E[] | undefined;
  abstract readonly client: { readonly who: string; totals(): RequestCounts };

  abstract plan(): Promise<PlannedObject[]>;
  abstract apply(object: PlannedObject): Promise<void>;

  counts(): RequestCounts {
    return this.client.totals();
  }

  async close(): Promise<void> {}

  /**
   * The plan entry of `object` (planning first if this session has not), or undefined when the object is unchanged
   * or blocked in the plan given: an object not part of this session's plan, or blocked in it, is a UsageError.
   */
  protected async entryToApply(object: PlannedObject): Promise<E | undefined> {
    if (object.action === 'unchanged' || object.action === 'blocked') return undefined;
    if (!this.entries) await this.plan();
    const entry = this.entries!.find((e) => e.planned.kind === object.kind && e.planned.name === object.name);
    if (!entry) throw new UsageError(`${this.client.who}: ${object.kind} "${object.name}" is not part of this target's plan`);
    if (entry.planned.action === 'blocked') throw new UsageError(`${this.client.who}: ${object.kind} "${object.name}" is blocked: ${entry.planned.reason ?? ''}`);
    return entry;
  }
}
