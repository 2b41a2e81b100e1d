"""Request records written in batches off the request's path."""
from ztoapi.recordwriter import RecordWriter


class Later:
    """spawn_later that remembers what it was asked to run, to run it when the test says."""

    def __init__(self):
        self.calls = []

    def __call__(self, seconds, function):
        self.calls.append((seconds, function))


def test_records_of_the_same_moment_are_written_as_one_batch():
    written, later = [], Later()
    writer = RecordWriter(written.append, interval=0.05, spawn_later=later)
    for n in range(3):
        writer.add({"n": n})
    assert written == [] and len(later.calls) == 1 and later.calls[0][0] == 0.05
    later.calls[0][1]()
    assert written == [[{"n": 0}, {"n": 1}, {"n": 2}]]
    writer.add({"n": 3})
    assert len(later.calls) == 2   # a new batch is scheduled once the last one is written
    later.calls[1][1]()
    assert written[-1] == [{"n": 3}]


def test_flush_writes_what_is_queued_and_nothing_twice():
    written, later = [], Later()
    writer = RecordWriter(written.append, spawn_later=later)
    writer.add({"n": 1})
    writer.flush()
    later.calls[0][1]()   # the scheduled write finds nothing left
    assert written == [[{"n": 1}]]


def test_without_gevent_each_record_is_written_at_once():
    written = []
    writer = RecordWriter(written.append)
    writer.add({"n": 1})
    assert written == [[{"n": 1}]]


def test_a_failing_write_is_logged_and_the_writer_goes_on(caplog):
    def broken(batch):
        raise OSError("disk full")
    later = Later()
    writer = RecordWriter(broken, spawn_later=later)
    writer.add({"n": 1})
    later.calls[0][1]()
    assert "1 request records could not be written" in caplog.text
    writer.add({"n": 2})
    assert len(later.calls) == 2
