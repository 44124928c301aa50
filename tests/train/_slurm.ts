// A one-node Slurm cluster for the tests, in a temporary folder: its own munge key and munged
// (as user munge), slurmctld and slurmd on ports of their own, so a Slurm already on the machine is
// neither used nor disturbed. `startSlurm()` returns null, with the reason, where it cannot run.

/** A running test cluster. */
export interface TestSlurm {
  /** The environment for sbatch/squeue (SLURM_CONF). */
  env: Record<string, string>;
  /** The cluster's folder (config, logs, state). */
  dir: string;
  /** Stops the daemons this helper started and removes nothing else. */
  stop(): Promise<void>;
}

async function sh(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), env, stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } catch (e) {
    return { code: 127, out: (e as Error).message };
  }
}

const which = async (b: string) => (await sh(["sh", "-c", `command -v ${b}`])).code === 0;

/** Starts munged, slurmctld and slurmd; null and the reason when they cannot start here. */
export async function startSlurm(): Promise<TestSlurm | string> {
  for (const b of ["munged", "slurmctld", "slurmd", "sbatch", "sinfo"]) {
    if (!await which(b)) {
      return `${b} is not installed (setup.sh installs slurmctld, slurmd, slurm-client, munge)`;
    }
  }
  if (Deno.uid() !== 0) return "the test cluster's daemons need root (as in CI)";
  if ((await sh(["id", "munge"])).code !== 0) return "there is no munge user";
  const dir = await Deno.makeTempDir({ prefix: "tb-slurm-" });
  await Deno.chmod(dir, 0o755);
  const m = `${dir}/munge`;
  await Deno.mkdir(m);
  await Deno.writeFile(`${m}/munge.key`, crypto.getRandomValues(new Uint8Array(1024)));
  await sh(["chown", "-R", "munge:munge", m]);
  await Deno.chmod(`${m}/munge.key`, 0o400);
  await Deno.chmod(m, 0o711); // munged wants its socket's folder searchable by all, writable by none
  const sock = `${m}/munge.sock`;
  const pids: string[] = [];
  const stop = async () => {
    for (const f of pids.reverse()) {
      try {
        const pid = Number((await Deno.readTextFile(f)).trim());
        if (pid > 1) Deno.kill(pid, "SIGTERM");
      } catch { /* not running */ }
    }
  };
  const munged = await sh([
    "su",
    "-s",
    "/bin/sh",
    "munge",
    "-c",
    `munged --socket=${sock} --key-file=${m}/munge.key --pid-file=${m}/munged.pid --log-file=${m}/munged.log --seed-file=${m}/munged.seed`,
  ]);
  if (munged.code !== 0) return `munged did not start: ${munged.out.trim()}`;
  pids.push(`${m}/munged.pid`);
  const host = (await sh(["hostname", "-s"])).out.trim();
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = `${dir}/slurm.conf`;
  await Deno.mkdir(`${dir}/state`);
  await Deno.mkdir(`${dir}/spool`);
  await Deno.writeTextFile(
    conf,
    [
      "ClusterName=tbtest",
      `SlurmctldHost=${host}`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${sock}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SchedulerType=sched/backfill",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_CPU",
      "ReturnToService=2",
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      "SlurmUser=root",
      "MpiDefault=none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      `NodeName=${host} CPUs=${navigator.hardwareConcurrency} State=UNKNOWN`,
      `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      "",
    ].join("\n"),
  );
  const env = { SLURM_CONF: conf };
  for (const [d, pid] of [["slurmctld", "slurmctld.pid"], ["slurmd", "slurmd.pid"]]) {
    const r = await sh([d, "-f", conf], env);
    if (r.code !== 0) {
      await stop();
      return `${d} did not start: ${r.out.trim()}`;
    }
    pids.push(`${dir}/${pid}`);
  }
  // Wait for the node to come up.
  for (let i = 0; i < 60; i++) {
    const s = await sh(["sinfo", "-h", "-o", "%T"], env);
    if (s.code === 0 && /idle/.test(s.out)) return { env, dir, stop };
    await new Promise((r) => setTimeout(r, 500));
  }
  const log = await Deno.readTextFile(`${dir}/slurmd.log`).catch(() => "");
  await stop();
  return `the Slurm node did not come up in 30 s: ${log.split("\n").slice(-3).join(" | ")}`;
}
