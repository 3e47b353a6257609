// Who runs which task: computed by the group's elected leader from every member's advertisement. Sticky
// (a task stays where it runs unless balance needs it elsewhere) and even (task counts differ by at most
// one where configs allow), so a worker joining takes a fair share and a config change moves nothing it
// does not have to.

/** What a worker tells the group when it joins. */
export interface Advertisement {
  worker: string;
  /** Position of the last reload request this worker applied (-1: none). The newest config wins. */
  version: number;
  /** The tasks this worker's config defines, `[key, fingerprint]`; the leader answers with partition
   * `1 + i` for `tasks[i]` (partition 0 is every member's heartbeat anchor). */
  tasks: [string, string][];
  /** The tasks it runs now. */
  owned: string[];
}

export function encodeAdvertisement(ad: Advertisement): Buffer {
  return Buffer.from(JSON.stringify(ad));
}

export function decodeAdvertisement(b: Buffer): Advertisement | null {
  try {
    const ad = JSON.parse(b.toString('utf8')) as Partial<Advertisement>;
    if (typeof ad.worker !== 'string' || !Array.isArray(ad.tasks) || !Array.isArray(ad.owned)) return null;
    return { worker: ad.worker, version: Number(ad.version ?? -1), tasks: ad.tasks, owned: ad.owned };
  } catch {
    return null;
  }
}

/** The tasks a member's partitions stand for, per its own advertisement. */
export function tasksOfPartitions(partitions: readonly number[], ad: Advertisement): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of partitions) {
    const t = ad.tasks[p - 1];
    if (p > 0 && t) out.set(t[0], t[1]);
  }
  return out;
}

export interface Member {
  memberId: string;
  ad: Advertisement;
}

export interface AssignmentResult {
  /** Partitions per member id. */
  partitions: Map<string, number[]>;
  /** task key -> worker id */
  tasks: Map<string, string>;
  /** Worker whose config defined the task set. */
  reference: string | null;
}

function tasksHash(ad: Advertisement): string {
  return JSON.stringify([...ad.tasks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const byWorker = (a: Member, b: Member) =>
  a.ad.worker < b.ad.worker ? -1 : a.ad.worker > b.ad.worker ? 1 : a.memberId < b.memberId ? -1 : 1;

export function assignTasks(members: readonly Member[]): AssignmentResult {
  const workers = [...members].sort(byWorker);
  const result: AssignmentResult = { partitions: new Map(), tasks: new Map(), reference: null };
  for (const m of workers) result.partitions.set(m.memberId, []);
  if (workers.length === 0) return result;

  // The reference config: newest reload first, then the one most workers share, then a stable choice.
  const groups = new Map<string, Member[]>();
  for (const m of workers) {
    const k = `${m.ad.version}\u0000${tasksHash(m.ad)}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  const [refKey] = [...groups.entries()].sort(([ka, a], [kb, b]) => {
    const va = a[0]!.ad.version;
    const vb = b[0]!.ad.version;
    if (va !== vb) return vb - va;
    if (a.length !== b.length) return b.length - a.length;
    return ka < kb ? -1 : 1;
  })[0]!;
  const reference = groups.get(refKey)![0]!;
  result.reference = reference.ad.worker;
  const universe = new Map(reference.ad.tasks);
  const keys = [...universe.keys()].sort();

  const fps = new Map(workers.map((m) => [m.memberId, new Map(m.ad.tasks)]));
  const eligible = (m: Member, key: string) => fps.get(m.memberId)!.get(key) === universe.get(key);
  const owned = new Map<string, Member[]>();
  for (const m of workers) for (const k of m.ad.owned) owned.set(k, [...(owned.get(k) ?? []), m]);

  const mine = new Map<string, string[]>(workers.map((m) => [m.memberId, []]));
  const unassigned: string[] = [];
  for (const key of keys) {
    // Two claimants happen when a member missed a rebalance; either is safe (fencing), pick one.
    const owner = (owned.get(key) ?? []).find((m) => eligible(m, key));
    if (owner) mine.get(owner.memberId)!.push(key);
    else unassigned.push(key);
  }

  // Quotas: `extra` members may hold one more than the rest; those already holding most keep the extra.
  const total = keys.length;
  const base = Math.floor(total / workers.length);
  let extra = total % workers.length;
  const quota = new Map<string, number>();
  for (const m of [...workers].sort(
    (a, b) => mine.get(b.memberId)!.length - mine.get(a.memberId)!.length || byWorker(a, b),
  ))
    quota.set(m.memberId, base + (extra-- > 0 ? 1 : 0));
  for (const m of workers) {
    const list = mine.get(m.memberId)!;
    const q = quota.get(m.memberId)!;
    if (list.length > q) unassigned.push(...list.splice(q));
  }

  for (const key of unassigned.sort()) {
    const candidates = workers.filter((m) => eligible(m, key));
    if (candidates.length === 0) continue; // no worker's config has this task as the reference defines it
    const load = (m: Member) => mine.get(m.memberId)!.length - quota.get(m.memberId)!;
    const target = candidates.reduce((best, m) => (load(m) < load(best) ? m : best));
    mine.get(target.memberId)!.push(key);
  }

  for (const m of workers) {
    const index = new Map(m.ad.tasks.map(([k], i) => [k, i]));
    result.partitions.set(
      m.memberId,
      mine
        .get(m.memberId)!
        .map((k) => 1 + index.get(k)!)
        .sort((a, b) => a - b),
    );
    for (const k of mine.get(m.memberId)!) result.tasks.set(k, m.ad.worker);
  }
  return result;
}
