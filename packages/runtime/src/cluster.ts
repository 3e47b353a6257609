// A worker in a group (`worker.group`): workers with the same group id share the connectors' tasks.
// Kafka's group coordinator tracks who is alive and elects a leader; the leader's assigner (assignment.ts)
// hands out tasks; each worker runs what it was given (engine.ts). When a worker joins, leaves or dies the
// group rebalances within the session timeout, and the task's new owner fences the old one with the
// task's transactional id before it reads offsets: output stays exactly once through every move.
// Pause/resume, restarts, reloads and task status go through the compacted state topic (state-store.ts).
import { randomUUID } from 'node:crypto';
import { ConfigError } from './config.ts';
import { buildConnectorSet } from './connector-set.ts';
import {
  assignTasks,
  decodeAdvertisement,
  encodeAdvertisement,
  tasksOfPartitions,
  type Advertisement,
} from './assignment.ts';
import { createEngine, followRequests, resolveWorkerId } from './engine.ts';
import { createKafkaClient, type TaskGroup } from './kafka/client.ts';
import { isProbe } from './kafka/group.ts';
import { kafkaSettings, prepareTopics, untilKafkaAnswers } from './kafka-setup.ts';
import { apiState, createControl, type ReloadResult } from './operator.ts';
import { logReload, prepareReload } from './reload.ts';
import { deferredStateStore, kafkaStateStore, type StateStore } from './state-store.ts';
import type { Worker, WorkerDeps } from './worker.ts';

export function groupTopics(cfg: WorkerDeps['config']) {
  const g = cfg.worker.group!;
  return { tasksTopic: g.tasksTopic ?? `${g.id}.tasks`, stateTopic: g.stateTopic ?? `${g.id}.state` };
}

export function startClusterWorker(deps: WorkerDeps): Worker {
  const { config: cfg, metrics, signal } = deps;
  const group = cfg.worker.group!;
  const { tasksTopic, stateTopic } = groupTopics(cfg);
  const workerId = resolveWorkerId(cfg, deps.workerId);
  const logger = deps.logger;
  const kafka = deps.kafka ?? createKafkaClient(kafkaSettings(cfg), logger.child({ component: 'kafka' }));

  let resolveStore: (s: StateStore) => void = () => {};
  let rejectStore: (e: unknown) => void = () => {};
  const storeReady = new Promise<StateStore>((res, rej) => ((resolveStore = res), (rejectStore = rej)));
  storeReady.catch(() => {});
  const store = deferredStateStore(storeReady);

  const engine = createEngine({
    config: cfg,
    workerId,
    kafka,
    logger,
    metrics,
    signal,
    store,
    onFenced: 'yield',
    ...(deps.onCommit ? { onCommit: deps.onCommit } : {}),
    // The owner reports its task's state for the whole group. A worker that lost the task (stopped,
    // fenced) writes nothing: the new owner's record is the one that counts.
    onTaskState: (s) => {
      if (s.state === 'stopped' || s.state === 'fenced') return;
      store
        .put(`status/${s.connector}/${s.taskId}`, {
          state: apiState(s.state),
          worker: workerId,
          lastError: s.lastError,
          at: new Date().toISOString(),
        })
        .catch((err: unknown) => logger.warn({ err }, 'cannot write task status'));
    },
  });
  followRequests(store, engine);

  // Position of the last reload this worker applied: the assigner prefers the newest config.
  let version = -1;
  let advertisedTasks = '';
  const advertisement = (): Advertisement => ({
    worker: workerId,
    version,
    tasks: [...engine.connectors().tasks.values()].map((t) => [t.key, t.fingerprint]),
    owned: engine.owned(),
  });
  let member: TaskGroup | null = null;

  const ensureTasksTopic = () =>
    untilKafkaAnswers(
      'cannot grow the tasks topic',
      () => kafka.ensurePartitions(tasksTopic, 1 + engine.connectors().tasks.size),
      cfg,
      logger,
      signal,
    );

  // Every worker applies a reload when its record arrives, from its own copy of the config file.
  let reloading = Promise.resolve();
  const applyReload = (position: number) => {
    reloading = reloading.then(async () => {
      if (!deps.loadConfig || signal.aborted) return;
      try {
        const { set, result } = await prepareReload(cfg, engine, deps.loadConfig);
        await prepareTopics(
          kafka,
          cfg,
          [...set.connectors.values()].map((c) => c.resolved),
          logger,
          signal,
        );
        version = position;
        engine.setConnectors(set);
        logReload(logger, result);
        await ensureTasksTopic();
        // A changed task list must reach the leader: make the group rejoin.
        if (JSON.stringify(advertisement().tasks) !== advertisedTasks) await member?.nudge();
      } catch (err) {
        logger.error(
          { err: err instanceof ConfigError ? err.issues : String(err) },
          'config reload failed here; this worker keeps its running config',
        );
      }
    });
  };
  store.subscribe((key, _value, position) => {
    if (key === 'reload') applyReload(position);
  });

  const reload = async (): Promise<ReloadResult> => {
    if (!deps.loadConfig) throw new ConfigError('this worker was started without a config file to reload');
    // Validate here first: an invalid file answers 400 and nothing is broadcast.
    const { result } = await prepareReload(cfg, engine, deps.loadConfig);
    await store.put('reload', { id: randomUUID(), at: new Date().toISOString(), by: workerId });
    return result;
  };

  const control = createControl({
    mode: 'distributed',
    workerId,
    config: cfg,
    engine,
    store,
    kafka,
    logger,
    reload,
  });

  const done = (async () => {
    try {
      const set = buildConnectorSet(deps.connectors);
      await prepareTopics(kafka, cfg, deps.connectors, logger, signal, [
        {
          topic: tasksTopic,
          numPartitions: 1 + set.tasks.size,
          replicationFactor: cfg.topics.replicationFactor,
        },
        {
          topic: stateTopic,
          numPartitions: 1,
          replicationFactor: cfg.topics.replicationFactor,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ]);
      let shared: StateStore | null = null;
      await untilKafkaAnswers(
        'cannot read the state topic',
        async () => void (shared = await kafkaStateStore(kafka, stateTopic)),
        cfg,
        logger,
        signal,
      );
      resolveStore(shared!);
      version = shared!.positionOf('reload');
      engine.setConnectors(set);
      await ensureTasksTopic();
      await untilKafkaAnswers(
        'cannot join the worker group',
        async () => {
          member = await kafka.joinGroup({
            groupId: group.id,
            topic: tasksTopic,
            sessionTimeoutMs: group.sessionTimeoutMs,
            heartbeatIntervalMs: group.heartbeatIntervalMs,
            rebalanceTimeoutMs: group.rebalanceTimeoutMs,
            logger: logger.child({ component: 'group' }),
            metadata: () => {
              const ad = advertisement();
              advertisedTasks = JSON.stringify(ad.tasks);
              return encodeAdvertisement(ad);
            },
            assign: async (members) => {
              const decoded = members.flatMap((m) => {
                const ad = isProbe(m.metadata) ? null : decodeAdvertisement(m.metadata);
                return ad ? [{ memberId: m.memberId, ad }] : [];
              });
              const r = assignTasks(decoded);
              await store
                .put('assignment', {
                  at: new Date().toISOString(),
                  leader: workerId,
                  workers: decoded.map((m) => m.ad.worker),
                  tasks: Object.fromEntries(r.tasks),
                })
                .catch((err: unknown) => logger.warn({ err }, 'cannot record the assignment'));
              logger.info(
                { workers: decoded.map((m) => m.ad.worker), tasks: r.tasks.size, reference: r.reference },
                'assigned tasks as group leader',
              );
              return r.partitions;
            },
            onAssignment: (partitions, advertised) => {
              const ad = decodeAdvertisement(advertised);
              if (!ad) return;
              const tasks = tasksOfPartitions(partitions, ad);
              metrics.rebalances.inc();
              logger.info({ tasks: [...tasks.keys()] }, 'tasks assigned to this worker');
              engine.setAssigned(tasks);
            },
            onRebalancing: () => logger.info('group rebalancing'),
            onMembership: (inGroup) => metrics.groupMember.set(inGroup ? 1 : 0),
          });
        },
        cfg,
        logger,
        signal,
      );
      logger.info({ group: group.id, tasksTopic, stateTopic }, 'joined the worker group');
      await new Promise<void>((r) =>
        signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true }),
      );
    } catch (err) {
      rejectStore(err);
      if (!signal.aborted) throw err;
    } finally {
      // Finish open transactions first, then leave: the others take over at once, with nothing to abort.
      await engine.stopAll();
      await (member as TaskGroup | null)?.leave();
      await store.close();
      if (!deps.kafka) await kafka.close();
    }
  })();

  return { status: () => engine.status(), done, control, reload };
}
