"""The daemon: one pass for `poll --once` and tests, or the scheduled jobs for `run`.

A pass issues the questionnaires that are due, reads the mailbox and sends
what waits in the outbox. The long-running form schedules the same steps
with APScheduler 3.x, runs a pass as soon as new mail arrives (see
mailwatch.py), and stops cleanly on SIGTERM or SIGINT: the message in hand
and a running outbox send finish first.
"""

import contextlib
import importlib
import logging
import signal
import threading
from datetime import datetime, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from peewee import OperationalError

from mailtriage import clock, pipeline, sdnotify
from mailtriage.errors import DatabaseError, MailtriageError
from mailtriage.i18n import tr
from mailtriage.mailwatch import MailboxWatcher

log = logging.getLogger("mailtriage.daemon")

# Due questionnaires are looked for this often. Issuing is idempotent per
# patient and day, so a check that finds nothing new costs one query.
QUESTIONNAIRE_CHECK_SECONDS = 60

# One worker runs the jobs one after another: SQLite has a single writer,
# and a pass and an outbox send never need to overlap.
JOB_WORKERS = 1

# A job that starts this late (the worker was busy) still runs once.
MISFIRE_GRACE_SECONDS = 300


_opened_url: str | None = None


def open_store(config) -> None:
    """Open the configured database (creating its schema) and mirror the units into it."""
    global _opened_url
    from mailtriage.models import database_proxy, open_database
    from mailtriage.units import sync_units

    if _opened_url == config.database_url and database_proxy.obj is not None:
        return
    open_database(config.database_url)
    sync_units(config)
    _opened_url = config.database_url


def issue_due_questionnaires(config) -> int:
    """Issue today's questionnaires that are due and return how many were issued."""
    from mailtriage.questionnaires import issue_due_questionnaires as issue_due

    return issue_due(config, clock.now())


@contextlib.contextmanager
def database_errors_in_one_line():
    """Turn a locked or failing database outside the per-message edge into one DatabaseError line."""
    try:
        yield
    except OperationalError as exc:
        raise DatabaseError(tr(
            "la base de datos falló ({why}); otro proceso puede estar usándola. "
            "Vuelva a intentarlo en unos segundos",
            "the database failed ({why}); another process may be using it. "
            "Try again in a few seconds", why=exc)) from exc


def run_once(config, stop: threading.Event | None = None) -> pipeline.PassSummary:
    """Run one pass: issue due questionnaires, read the mailbox, send the outbox.

    The mail templates are compiled first, so a broken one stops the pass
    with its name before any message is read.
    """
    from mailtriage.mailtemplates import compile_templates

    open_store(config)
    compile_templates(config)

    with database_errors_in_one_line():
        issued = issue_due_questionnaires(config)
        summary = pipeline.run_pass(config, stop=stop)
    summary.questionnaires_issued = issued

    log.info("pass finished: %s", summary.as_log())
    return summary


class Daemon:
    """The scheduled jobs of `mailtriage run`, and how they stop."""

    def __init__(self, config):
        self.config = config
        self.stop_requested = threading.Event()
        # Held by every job and by the watcher's passes, so the mailbox
        # watcher's thread never writes beside the scheduler's worker.
        self.work_lock = threading.Lock()
        self.watcher = MailboxWatcher(config, self.work_lock, self.stop_requested)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(JOB_WORKERS)},
            job_defaults={"max_instances": 1, "coalesce": True,
                          "misfire_grace_time": MISFIRE_GRACE_SECONDS},
            timezone="UTC",
        )

    def add_jobs(self) -> None:
        config = self.config
        jobs = (
            ("poll", self.poll, config.poll_seconds),
            ("outbox", self.send_outbox, config.outbox_retry_seconds),
            ("questionnaires", self.issue_questionnaires, QUESTIONNAIRE_CHECK_SECONDS),
            ("nonreporting", self.check_nonreporting, config.nonreport_check_minutes * 60),
        )
        # The scheduler runs on the wall clock, and every job's first run
        # starts at once rather than one interval later.
        start = datetime.now(timezone.utc)
        for job_id, function, seconds in jobs:
            self.scheduler.add_job(guarded(job_id, function, self.work_lock), "interval",
                                   seconds=seconds, id=job_id, name=job_id, next_run_time=start)

    def poll(self) -> None:
        with database_errors_in_one_line():
            summary = pipeline.run_pass(self.config, stop=self.stop_requested)
        # An idle pass every poll_seconds would fill the journal, so only a
        # pass that read or sent something is logged at INFO.
        level = logging.INFO if summary.messages_read or summary.sent else logging.DEBUG
        log.log(level, "poll finished: %s", summary.as_log())

    def send_outbox(self) -> None:
        sent = pipeline.send_outbox(self.config)
        if sent:
            log.info("outbox: %d message(s) sent", sent)

    def issue_questionnaires(self) -> None:
        issued = issue_due_questionnaires(self.config)
        if issued:
            log.info("questionnaires issued: %d", issued)

    def check_nonreporting(self) -> None:
        check = find_nonreporting_check()
        if check is not None:
            check(self.config)

    def run(self) -> None:
        """Start the jobs and block until SIGTERM or SIGINT, then stop them cleanly."""
        self.prepare()
        previous = {number: signal.signal(number, self.request_stop)
                    for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            self.wait_for_stop()
        finally:
            sdnotify.notify_stopping()
            self.shutdown()
            for number, handler in previous.items():
                signal.signal(number, handler)

    def prepare(self) -> None:
        """Open the database, load the rule set and compile the mail templates.

        A bad rule file or template stops the daemon before it starts.
        """
        from mailtriage.mailtemplates import compile_templates
        from mailtriage.ruleset import ruleset_for

        # APScheduler logs every job run at INFO. The jobs log their own
        # outcome, so its lines would only repeat them.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        open_store(self.config)
        ruleset_for(self.config)
        compile_templates(self.config)

    def start(self) -> None:
        self.add_jobs()
        self.scheduler.start()
        self.watcher.start()
        log.info("daemon started: mailbox %s, waiting for new mail and polling every %d s",
                 self.config.mailbox.display, self.config.poll_seconds)
        sdnotify.notify_ready(tr("leyendo {m}", "reading {m}", m=self.config.mailbox.display))

    def wait_for_stop(self) -> None:
        """Block until a stop is requested, pinging the systemd watchdog when one is set."""
        interval = sdnotify.watchdog_interval()
        if interval is None:
            self.stop_requested.wait()
            return
        # NOTE: the ping shows that the main thread is alive, not that jobs
        # progress. A job stuck on a dead server is bounded by its own timeouts.
        while not self.stop_requested.wait(interval):
            sdnotify.notify_watchdog()

    def request_stop(self, signal_number=None, frame=None) -> None:
        # Set first: a second signal can arrive while the log line is written.
        already_requested = self.stop_requested.is_set()
        self.stop_requested.set()
        if not already_requested:
            log.info("stop requested (signal %s): finishing the job in hand", signal_number)

    def shutdown(self) -> None:
        self.stop_requested.set()
        if self.scheduler.running:
            # wait=True lets the running job end: the pipeline stops after the
            # message in hand, and an outbox send finishes its batch.
            self.scheduler.shutdown(wait=True)
        if self.watcher.thread.is_alive():
            # The watcher checks for a stop at least every mailwatch.WAIT_SECONDS.
            self.watcher.join()
        log.info("daemon stopped")


def guarded(job_id: str, function, work_lock: threading.Lock):
    """Wrap a job so it runs under ``work_lock``, and a failure is logged and the next run still happens."""

    def run_job():
        try:
            with work_lock:
                function()
        except MailtriageError as exc:
            log.warning("job %s failed: %s", job_id, exc)
        except Exception:
            # The edge of the loop: anything else is logged with its traceback
            # and the job runs again at its next interval.
            log.exception("job %s failed unexpectedly", job_id)

    run_job.__name__ = f"{job_id}_job"
    return run_job


_missing_check_logged = False


def find_nonreporting_check():
    """Return mailtriage.monitoring.run_nonreporting_check, or None while that module is absent."""
    global _missing_check_logged
    try:
        module = importlib.import_module("mailtriage.monitoring")
    except ModuleNotFoundError as exc:
        if exc.name != "mailtriage.monitoring":
            raise
        if not _missing_check_logged:
            log.warning("non-reporting check skipped: mailtriage.monitoring is not installed")
            _missing_check_logged = True
        return None
    return getattr(module, "run_nonreporting_check", None)


def run_forever(config) -> None:
    """Run the daemon until SIGTERM or SIGINT."""
    Daemon(config).run()
