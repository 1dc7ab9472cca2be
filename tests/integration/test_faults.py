"""OS faults reach the readers, the inbox and the spool copy (issue #11):
their file calls go through hal's table, so POSAGENT_TEST_FAULT
(hal/hal_fault.h, honoured by sanitized builds only) can make them fail.
Each failure must end as a clear, named error with nothing half done."""
import os
import shutil

from conftest import FIXTURES
from test_daemon import drop, inbox, jobs


def fault(spec):
    return {"POSAGENT_TEST_FAULT": spec}


def big_csv(path, rows):
    """More than one 64 KiB read (csvr's chunk), so a read fails mid-file."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("SKU,Product Name,Price,Stock\n")
        for i in range(rows):
            f.write(f"SKU{i:06d},Lens number {i},{100 + i % 50}.00,{i % 7}\n")
    assert os.path.getsize(path) > 2 * 64 * 1024
    return path


def test_csv_read_eio_mid_file_fails_the_job_naming_the_file(agent):
    agent.add_profile()
    f = big_csv(agent.dir / "price.csv", 5000)
    # The reader reads the spool copy: its first read succeeds, the second
    # (mid-file, after rows were already written in the transaction) fails.
    rc, job, r = agent.jrun("import", f, "--profile", "Test",
                            env=fault("read:EIO:/spool/:1"))
    assert rc != 0, r
    assert job["state"] == "failed", job
    msg = job["error_message"]
    assert "cannot read price.csv at row" in msg, msg
    assert "Input/output error" in msg, msg
    # Rolled back: nothing of the file reached the catalog.
    assert agent.catalog("SELECT count(*) AS n FROM product")[0]["n"] == 0
    # The same file imports fine once the disk is healthy again.
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0 and job["state"] == "done", r
    assert job["created_count"] == 5000, job


def test_xlsx_open_eacces_fails_the_job_naming_the_file(agent):
    agent.add_profile(name="X", file_format="xlsx", sheet="Товары",
                      header_row=2, data_start_row=3)
    f = agent.dir / "book.xlsx"
    shutil.copy(os.path.join(FIXTURES, "xlsx", "libreoffice.xlsx"), f)
    rc, job, r = agent.jrun("import", f, "--profile", "X",
                            env=fault("open:EACCES:/spool/"))
    assert rc != 0, r
    assert job["state"] == "failed", job
    assert "cannot open book.xlsx: Permission denied" in \
        job["error_message"], job
    assert agent.catalog("SELECT count(*) AS n FROM product")[0]["n"] == 0


def test_inbox_archive_rename_enospc_keeps_the_file_in_the_inbox(agent):
    agent.add_profile(file_pattern="supplier_*.csv")
    drop(agent, "supplier_1.csv")
    r = agent.run("run", "--once", env=fault("rename:ENOSPC:/archive/"))
    assert r.rc == 0, r
    j = jobs(agent)
    assert len(j) == 1 and j[0]["state"] == "done", j
    # Not moved, and the log says why and where to.
    assert (inbox(agent) / "supplier_1.csv").exists()
    assert not (agent.data / "archive" / "supplier_1.csv").exists()
    assert "cannot move the file to archive/" in r.err, r.err
    assert "No space left on device" in r.err, r.err
    # Healthy again: the next turn archives it without importing it twice.
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    assert (agent.data / "archive" / "supplier_1.csv").exists()
    assert len(jobs(agent)) == 1


def test_spool_copy_read_eio_fails_the_import_and_leaves_no_spool_file(agent):
    agent.add_profile()
    first = agent.dir / "first.csv"
    first.write_text("SKU,Product Name,Price,Stock\nA1,Lens A,10.00,1\n",
                     encoding="utf-8")
    rc, job, r = agent.jrun("import", first, "--profile", "Test")
    assert rc == 0 and job["state"] == "done", r
    before = agent.catalog()
    spool = agent.data / "spool"
    kept = sorted(p.name for p in spool.iterdir())
    f = big_csv(agent.dir / "lenses.csv", 5000)
    # The copy into the spool reads the user's file (the reader reads the
    # copy): its first read succeeds, so a temp file in the spool already
    # holds data when the second read fails. The copy comes before the job
    # row (runner_spool), so the import fails without recording a job.
    rc, doc, r = agent.jrun("import", f, "--profile", "Test",
                            env=fault("read:EIO:lenses.csv:1"))
    assert rc != 0, r
    err = doc["error"]
    assert err["name"] == "PA_EIO", doc
    assert f"cannot read {f} (copying it into the spool): " \
        "Input/output error" == err["message"], doc
    # No orphan: neither the temp file nor a partial copy stays behind.
    assert sorted(p.name for p in spool.iterdir()) == kept
    rc, jl, r = agent.jrun("job", "list")
    assert rc == 0 and [j["file_name"] for j in jl] == ["first.csv"], r
    assert agent.catalog() == before
