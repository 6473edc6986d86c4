"""Model operations of the operator console: training and evaluation jobs, activation and rollback.

Training (``rasa train``) and evaluation (``tools/evaluate_model.py``) run as subprocesses in the Rasa
environment (the web app never imports Rasa), one job at a time: an in-process lock plus a lock file in
the models folder, so a training started on the command line (``python -m bot model train``) and one
started in the console cannot run together. The job's stage and epoch are parsed from Rasa's output (DIET
prints ``Epochs: 45%|...| 18/40``); the log is kept for the console; a job can be cancelled (the process
group is terminated). Unchanged data (same fingerprint of config, domain and data/) re-uses the kept model
instead of training again. Every new model is evaluated on the held-out test set, next to the active model.

Activation asks Rasa to load the model through its HTTP API (``PUT /model``) and verifies the switch with
``GET /status``; the activation gate (bot/ops/gate.py) must pass unless an admin overrides it with a
reason. Every operation is written to the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import signal
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.auth import Accounts, StaffUser
from bot.models import NluModel, utcnow
from bot.ops import evaluation, gate
from bot.ops.rasa_admin import RasaAdmin, RasaAdminError
from bot.ops.registry import ModelRegistry, read_active_pointer, read_rasa_model_id, write_active_pointer
from bot.settings import ROOT, Settings

log = logging.getLogger(__name__)

LOCK_FILE = ".job.lock"
LOG_LINES = 400
EPOCHS = re.compile(r"Epochs:\s*(\d+)%\|.*?\|\s*(\d+)/(\d+)")
COMPONENT = re.compile(r"(Starting to train|Finished training|Restored) component '(\w+)'")
SAVED = "Your Rasa model is trained and saved at"
FEATURIZERS = {"SpacyNLP", "SpacyTokenizer", "SpacyEntityExtractor", "RegexFeaturizer", "RegexEntityExtractor",
               "LexicalSyntacticFeaturizer", "CountVectorsFeaturizer", "EntitySynonymMapper"}
POLICIES = {"RulePolicy", "MemoizationPolicy", "TEDPolicy", "UnexpecTEDIntentPolicy"}
# Rough share of the whole job each stage starts at (for the progress bar).
STAGE_START = {"Daten prüfen": 0.02, "Merkmale": 0.1, "DIET": 0.2, "Policies": 0.8, "Bewertung": 0.85,
               "fertig": 1.0}


class OpsError(RuntimeError):
    """An operation cannot be done; the message is German and meant for the operator."""


class Busy(OpsError):
    pass


class GateBlocked(OpsError):
    def __init__(self, result: gate.GateResult) -> None:
        self.result = result
        super().__init__("Das neue Modell ist schlechter als das aktive: " + result.summary)


# --- helpers ------------------------------------------------------------------------------------------

def rasa_python(config: Settings) -> Path:
    if config.rasa_python:
        return config.rasa_python
    own = config.project_dir / ".venv-rasa" / "bin" / "python"
    return own if own.exists() else ROOT / ".venv-rasa" / "bin" / "python"


def train_config(config: Settings) -> Path:
    return config.train_config or config.project_dir / "config.yml"


def data_fingerprint(project_dir: Path, config_file: Path) -> str:
    """SHA-256 over the training config, domain.yml and every file under data/ (names and contents)."""
    digest = hashlib.sha256()
    files = [("config", config_file), ("domain.yml", project_dir / "domain.yml")]
    data = project_dir / "data"
    files += sorted((str(p.relative_to(project_dir)), p) for p in data.rglob("*") if p.is_file())
    for name, path in files:
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def new_model_name(models_dir: Path) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name, n = f"krisenlotse-{stamp}", 1
    while (models_dir / f"{name}.tar.gz").exists():
        n += 1
        name = f"krisenlotse-{stamp}-{n}"
    return name


def actor_of(user: StaffUser | None) -> str:
    return user.email if user else "Kommandozeile"


@dataclass
class Job:
    """One training or evaluation run (what the console polls)."""

    kind: str  # "train" | "evaluate"
    user: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: datetime = field(default_factory=utcnow)
    status: str = "running"  # running | succeeded | reused | failed | cancelled
    stage: str = "Daten prüfen"
    epoch: int | None = None
    epochs: int | None = None
    progress: float = 0.0
    finished: datetime | None = None
    message: str | None = None
    error: str | None = None
    model_id: int | None = None
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    cancel_requested: bool = False

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def stage_text(self) -> str:
        if self.stage == "DIET" and self.epoch is not None and self.epochs:
            return f"DIET Epoche {self.epoch}/{self.epochs}"
        return self.stage

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        self.progress = max(self.progress, STAGE_START.get(stage, self.progress))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "user": self.user, "status": self.status,
                "stage": self.stage_text, "epoch": self.epoch, "epochs": self.epochs,
                "progress": round(self.progress, 3), "started": self.started.isoformat(),
                "finished": self.finished.isoformat() if self.finished else None, "message": self.message,
                "error": self.error, "model_id": self.model_id, "log": list(self.log)[-200:]}

    def feed(self, line: str) -> None:
        """One line (or tqdm update) of Rasa's output: update stage/epoch, keep it in the log."""
        line = line.rstrip()
        if not line:
            return
        epochs = EPOCHS.search(line)
        if epochs:
            done, total = int(epochs.group(2)), int(epochs.group(3))
            if self.kind == "train":
                self.stage, self.epoch, self.epochs = "DIET", done, total
                self.progress = max(self.progress, 0.2 + 0.6 * done / max(total, 1))
            if self.log and self.log[-1].startswith("Epochs:"):
                self.log[-1] = line  # one progress line, updated, not hundreds
            else:
                self.log.append(line)
            return
        component = COMPONENT.search(line)
        if component and self.kind == "train":
            name = component.group(2)
            if name == "DIETClassifier":
                self.set_stage("DIET")
            elif name in POLICIES:
                self.set_stage("Policies")
            elif name in FEATURIZERS and self.stage == "Daten prüfen":
                self.set_stage("Merkmale")
        if SAVED in line:
            self.set_stage("Policies")
            self.progress = max(self.progress, 0.84)
        self.log.append(line[:2000])


class JobLock:
    """The models folder's lock file: one job at a time, across processes (console and command line)."""

    def __init__(self, models_dir: Path) -> None:
        self.path = models_dir / LOCK_FILE
        self.handle: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


@dataclass(frozen=True)
class Activation:
    model: NluModel
    previous: NluModel | None
    seconds: float
    gate: gate.GateResult | None
    override: bool


# --- the service ------------------------------------------------------------------------------------

class ModelOps:
    """Training/evaluation jobs and activation for one configuration; used by the console and the CLI."""

    def __init__(self, config: Settings, registry: ModelRegistry, accounts: Accounts | None,
                 admin: RasaAdmin | None,
                 hold: Callable[[], contextlib.AbstractAsyncContextManager[Any]] | None = None) -> None:
        self.config = config
        self.registry = registry
        self.accounts = accounts
        self.admin = admin
        # While Rasa loads a model it answers nobody (15-35 s): the web app's gateway holds new messages
        # back meanwhile (Gateway.hold_messages) instead of letting them run into its time-out.
        self.hold = hold or contextlib.nullcontext
        self.job: Job | None = None
        self.task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # --- audit ---

    async def audit(self, user: StaffUser | None, action: str, detail: str) -> None:
        if self.accounts is not None:
            await self.accounts.audit(user, action, detail=detail[:2000])
        log.info("%s by %s: %s", action, actor_of(user), detail)

    # --- jobs ---

    def other_process_busy(self) -> bool:
        """True while a job of another process (e.g. the command line) holds the lock file."""
        if self.job is not None and self.job.running:
            return False
        probe = JobLock(self.config.models_dir)
        if not probe.path.exists():  # nobody ever ran a job here (and a page view creates nothing)
            return False
        if probe.acquire():
            probe.release()
            return False
        return True

    async def _start(self, job: Job, work: Callable[[Job], Awaitable[None]]) -> Job:
        async with self._lock:
            if self.job is not None and self.job.running:
                raise Busy("Es läuft bereits ein Auftrag; bitte warten Sie, bis er fertig ist, oder brechen Sie ihn ab.")
            lock = JobLock(self.config.models_dir)
            if not lock.acquire():
                raise Busy("Es läuft bereits ein Training oder eine Bewertung in einem anderen Prozess "
                           "(z. B. auf der Kommandozeile).")
            self.job = job
        self.task = asyncio.get_running_loop().create_task(self._run(job, work, lock))
        return job

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[None]], lock: JobLock) -> None:
        try:
            await work(job)
        except asyncio.CancelledError:
            job.status, job.error = "cancelled", "Abgebrochen."
            raise
        except OpsError as exc:
            job.status, job.error = ("cancelled" if job.cancel_requested else "failed"), str(exc)
        except Exception as exc:  # the console must show the failure, not hang in "running"
            log.exception("model job %s failed", job.id)
            job.status, job.error = "failed", f"Unerwarteter Fehler: {type(exc).__name__}: {exc}"
        finally:
            job.finished = utcnow()
            job.process = None
            lock.release()

    async def wait(self) -> Job | None:
        """Wait for the current job to finish (CLI, tests)."""
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return self.job

    async def start_training(self, user: StaffUser | None) -> Job:
        return await self._start(Job("train", actor_of(user)), lambda job: self._train(job, user))

    async def start_evaluation(self, model_id: int, user: StaffUser | None, folds: int | None = None) -> Job:
        record = await self.registry.get(model_id)
        if record is None or record.status not in ("ready", "active"):
            raise OpsError(f"Modell #{model_id} ist nicht (mehr) vorhanden.")
        if folds is not None and not 2 <= folds <= 10:
            raise OpsError("Die Kreuzvalidierung braucht 2 bis 10 Teile.")
        job = Job("evaluate", actor_of(user))
        job.stage = "Bewertung"
        return await self._start(job, lambda j: self._evaluate_job(j, record, user, folds))

    async def cancel(self, user: StaffUser | None) -> bool:
        job = self.job
        if job is None or not job.running:
            return False
        job.cancel_requested = True
        job.message = "Wird abgebrochen …"
        await self._terminate(job)
        await self.audit(user, "model_job_cancel", f"{job.kind} {job.id}")
        return True

    @staticmethod
    async def _terminate(job: Job) -> None:
        proc = job.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    async def _subprocess(self, job: Job, argv: list[str]) -> int:
        """Run ``argv`` in the project folder at low priority; its output goes through ``job.feed``."""
        env = dict(os.environ)
        env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false", "PYTHONUNBUFFERED": "1",
                    "SQLALCHEMY_SILENCE_UBER_WARNING": "1"})
        job.log.append("$ " + " ".join(argv))
        proc = await asyncio.create_subprocess_exec(
            "nice", "-n", "10", *argv, cwd=self.config.project_dir, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        job.process = proc
        if job.cancel_requested:
            await self._terminate(job)
        assert proc.stdout is not None
        buffer = ""
        try:
            while True:
                chunk = await proc.stdout.read(4096)
                if not chunk:
                    break
                buffer += chunk.decode("utf-8", errors="replace")
                *lines, buffer = re.split(r"[\r\n]", buffer)
                for line in lines:
                    job.feed(line)
            job.feed(buffer)
            return await proc.wait()
        except asyncio.CancelledError:
            await self._terminate(job)
            raise

    @staticmethod
    def _failure(job: Job, what: str, code: int) -> str:
        lines = [line for line in job.log if not line.startswith(("$ ", "Epochs:"))]
        errors = [line for line in lines if re.search(r"(Error|Exception|error:|Fehler|InvalidConfig)", line)]
        detail = (errors or lines or ["keine Ausgabe"])[-1].strip()
        return f"{what} ist fehlgeschlagen (Code {code}): {detail[:400]}"

    async def _train(self, job: Job, user: StaffUser | None) -> None:
        config = self.config
        cfg = train_config(config)
        if not cfg.is_file():
            raise OpsError(f"Die Trainingskonfiguration {cfg} fehlt.")
        fingerprint = await asyncio.to_thread(data_fingerprint, config.project_dir, cfg)
        existing = await self.registry.by_fingerprint(fingerprint)
        if existing is not None and existing.file_name and (config.models_dir / existing.file_name).is_file():
            job.model_id = existing.id
            job.message = (f"Daten und Konfiguration sind unverändert: Modell #{existing.id} "
                           f"({existing.file_name}) wird weiterverwendet.")
            await self.audit(user, "model_train_reused", f"#{existing.id} {existing.file_name}")
            if not (existing.metrics or {}).get("macro_f1"):
                await self._evaluate(job, existing)
            job.status, job.stage, job.progress = "reused", "fertig", 1.0
            return

        name = new_model_name(config.models_dir)
        # Rasa writes into a staging folder; the file moves into the models folder once it is registered
        # (so a half-written archive is never taken for a model).
        staging = config.models_dir / ".training"
        staging.mkdir(parents=True, exist_ok=True)
        python = rasa_python(config)
        argv = [str(python), "-m", "rasa", "train", "--config", str(cfg), "--domain",
                str(config.project_dir / "domain.yml"), "--data", str(config.project_dir / "data"),
                "--out", str(staging), "--fixed-model-name", name]
        await self.audit(user, "model_train", f"Training gestartet ({cfg.name})")
        start = time.perf_counter()
        code = await self._subprocess(job, argv)
        seconds = time.perf_counter() - start
        staged, path = staging / f"{name}.tar.gz", config.models_dir / f"{name}.tar.gz"
        if job.cancel_requested or code != 0 or not staged.is_file():
            status = "cancelled" if job.cancel_requested else "failed"
            error = "Das Training wurde abgebrochen." if job.cancel_requested else \
                self._failure(job, "Das Training", code) if code != 0 else \
                "Das Training ist ohne Modelldatei zu Ende gegangen."
            staged.unlink(missing_ok=True)
            record = await self.registry.add(file_name=None, status=status, trained_by=job.user,
                                             trained_by_id=user.id if user else None, fingerprint=fingerprint,
                                             train_config=cfg.name, training_seconds=seconds, note=error)
            job.model_id = record.id
            raise OpsError(error)
        model_id = await asyncio.to_thread(read_rasa_model_id, staged)
        size = staged.stat().st_size
        record = await self.registry.add(file_name=path.name, status="ready", trained_by=job.user,
                                         trained_by_id=user.id if user else None, fingerprint=fingerprint,
                                         rasa_model_id=model_id, train_config=cfg.name, training_seconds=seconds,
                                         size_bytes=size)
        os.replace(staged, path)
        job.model_id = record.id
        job.log.append(f"Modell #{record.id} gespeichert: {path.name} ({seconds:.0f} s)")
        await self._evaluate(job, record)
        removed = await self.registry.prune(config.models_dir, config.keep_models)
        for old in removed:
            job.log.append(f"Altes Modell #{old.id} ({old.file_name}) gelöscht (es bleiben {config.keep_models}).")
        job.status, job.stage, job.progress = "succeeded", "fertig", 1.0
        job.message = f"Modell #{record.id} ist trainiert und bewertet ({seconds / 60:.1f} min)."

    async def _evaluate_job(self, job: Job, record: NluModel, user: StaffUser | None, folds: int | None) -> None:
        await self.audit(user, "model_evaluate", f"#{record.id} {record.file_name}"
                         + (f", Kreuzvalidierung {folds}-fach" if folds else ""))
        await self._evaluate(job, record, folds=folds, force=True)
        job.status, job.stage, job.progress = "succeeded", "fertig", 1.0
        job.model_id = record.id
        job.message = f"Modell #{record.id} ist bewertet."

    async def _evaluate(self, job: Job, record: NluModel, folds: int | None = None, force: bool = False) -> None:
        """Evaluate ``record`` (and the active model when its figures are missing or from another test set)."""
        config = self.config
        job.set_stage("Bewertung")
        testset = evaluation.testset_path(config.project_dir)
        if not testset.is_file():
            raise OpsError(f"Das Testset {testset} fehlt.")
        current = evaluation.testset_fingerprint(config.project_dir)
        records = [record]
        active = await self.registry.active()
        if active is not None and active.id != record.id and active.file_name and \
                (active.metrics or {}).get("testset_fingerprint") != current and \
                (config.models_dir / active.file_name).is_file():
            records.append(active)
        if not force and (record.metrics or {}).get("testset_fingerprint") == current and len(records) == 1 \
                and not folds:
            return
        with tempfile.TemporaryDirectory(prefix="krisenlotse-eval-") as tmp:
            out = Path(tmp) / "result.json"
            argv = evaluation.evaluate_command(
                rasa_python(config), [config.models_dir / r.file_name for r in records if r.file_name], testset,
                out, folds=folds, config=train_config(config), data=config.project_dir / "data" / "nlu",
                project=config.project_dir)
            start = time.perf_counter()
            code = await self._subprocess(job, argv)
            if job.cancel_requested:
                raise OpsError("Die Bewertung wurde abgebrochen.")
            if code != 0 or not out.is_file():
                raise OpsError(self._failure(job, "Die Bewertung", code))
            result = evaluation.read_result(out)
        for r in records:
            metrics = result["models"].get(r.file_name or "")
            if metrics is not None:
                metrics.pop("path", None)
                await self.registry.set_metrics(r.id, metrics, result["cross_validation"] if r is record else None)
        job.log.append(f"Bewertung fertig ({time.perf_counter() - start:.0f} s).")

    # --- activation ---

    async def activate(self, model_id: int, user: StaffUser | None, *, override_reason: str | None = None,
                       rollback: bool = False, is_admin: bool | None = None) -> Activation:
        """Load ``model_id`` into the running Rasa and make it the active model.

        ``rollback``: back to an earlier kept model (no gate: it served before). Otherwise the gate must
        pass, or an admin (``is_admin``; defaults to the user's role) gives ``override_reason``."""
        if self.admin is None:
            raise OpsError("Keine Verbindung zu Rasa konfiguriert.")
        record = await self.registry.get(model_id)
        if record is None or record.status not in ("ready", "active") or not record.file_name or \
                not (self.config.models_dir / record.file_name).is_file():
            raise OpsError(f"Modell #{model_id} ist nicht (mehr) vorhanden.")
        if record.status == "active":
            raise OpsError(f"Modell #{model_id} ist bereits aktiv.")
        active = await self.registry.active()
        result: gate.GateResult | None = None
        override = False
        if rollback:
            if active is None:
                raise OpsError("Es ist kein Modell aktiv; bitte aktivieren Sie eines.")
            if record.created_at >= active.created_at:
                raise OpsError("Zurückrollen geht nur zu einem älteren Modell; neuere Modelle bitte aktivieren.")
        else:
            result = gate.check(record.metrics, active.metrics if active else None,
                                tolerance=self.config.gate_tolerance, intent_drop=self.config.gate_intent_drop)
            if not result.allowed:
                reason = (override_reason or "").strip()
                admin = user.is_admin if is_admin is None and user is not None else bool(is_admin)
                if not reason:
                    raise GateBlocked(result)
                if not admin:
                    raise OpsError("Nur eine Administratorin oder ein Administrator kann die Freigabe erzwingen.")
                if len(reason) < 10:
                    raise OpsError("Bitte begründen Sie das Erzwingen in mindestens 10 Zeichen.")
                override = True
        path = await asyncio.to_thread((self.config.models_dir / record.file_name).resolve)
        try:
            async with self.hold():
                _status, seconds = await self.admin.load_model(path, record.rasa_model_id)
        except RasaAdminError as exc:
            raise OpsError(f"Der Wechsel ist fehlgeschlagen; Rasa nutzt weiter das bisherige Modell. {exc}") from exc
        previous = await self.registry.mark_active(record.id)
        await asyncio.to_thread(write_active_pointer, self.config.models_dir, record.file_name)
        before = f" (vorher #{previous.id} {previous.file_name})" if previous else ""
        if rollback:
            await self.audit(user, "model_rollback", f"#{record.id} {record.file_name}{before}")
        elif override:
            await self.audit(user, "model_activate_override",
                             f"#{record.id} {record.file_name}{before}; Begründung: {override_reason}; "
                             f"Freigabe verweigert: {result.summary if result else ''}")
        else:
            await self.audit(user, "model_activate", f"#{record.id} {record.file_name}{before}")
        await self.registry.prune(self.config.models_dir, self.config.keep_models)
        fresh = await self.registry.get(record.id)
        return Activation(fresh or record, previous, seconds, result, override)

    async def sync(self) -> str | None:
        """Bring the registry in step with the models folder and the model Rasa runs (returns its file)."""
        running: str | None = None
        if self.admin is not None:
            with contextlib.suppress(RasaAdminError):
                running = (await self.admin.status(timeout=3.0)).model_file
        await self.registry.sync_with_disk(self.config.models_dir, running or read_active_pointer(self.config.models_dir))
        return running
