"""Batch scoring to JSON Lines, CSV and Parquet; summaries; nothing half-written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from moderation.inputs import iter_comments
from moderation.batch import score_to_file
from moderation.errors import ArchiveError, InputError

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_seed_pages_to_jsonl(model, tmp_path):
    out = tmp_path / "scores.jsonl"
    summary = score_to_file(model, iter_comments([SEEDS]), out, progress=False)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 49 and summary.read == 49
    assert summary.scored == 48 and summary.not_scored == {"empty comment": 1}
    empty = [r for r in records if r["decision"] is None]
    assert empty[0]["id"] == "000_c87f713ab8df9e35:14" and empty[0]["scores"] is None
    scored = [r for r in records if r["decision"]]
    assert all(set(r["scores"]) == set(model.categories) for r in scored)
    assert all(r["decision"] in ("allow", "review", "reject") for r in scored)
    assert {r["article"] for r in records} == {p.stem for p in SEEDS.glob("*.txt")} - {"003_211710dc48a315eb"}
    reply = next(r for r in records if r["id"] == "001_4e2df06bc1a1437c:5")
    assert reply["parent"] == "001_4e2df06bc1a1437c:4" and reply["number"] is None
    rendered = summary.render(model.categories, out)
    assert "scored 48 of 49" in rendered and "per article" in rendered


def test_jsonl_input_to_csv_and_parquet(model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                           enumerate(["you idiot", "nice article", "what the fuck"])), encoding="utf-8")
    out_csv = tmp_path / "s.csv"
    score_to_file(model, iter_comments([src]), out_csv, progress=False)
    rows = list(csv.DictReader(open(out_csv, newline="", encoding="utf-8")))
    assert [r["id"] for r in rows] == ["0", "1", "2"]
    assert all(0 <= float(r["score_threat"]) <= 1 for r in rows)
    out_pq = tmp_path / "s.parquet"
    score_to_file(model, iter_comments([src]), out_pq, progress=False)
    table = pq.read_table(out_pq)
    assert table.num_rows == 3 and "score_profanity" in table.column_names


def test_workers_give_the_same_output(model, models_dir, tmp_path):
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        for i in range(5000):
            w.writerow([f"c{i}", f"comment {i} you idiot" if i % 3 else f"talks number {i}"])
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_to_file(model, iter_comments([src]), one, progress=False)
    from moderation.model import resolve_model_dir

    score_to_file(model, iter_comments([src]), two, progress=False, workers=2,
                  model_dir=resolve_model_dir(models_dir))
    assert one.read_text() == two.read_text()


def test_failure_leaves_no_partial_output(model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": 5}\n', encoding="utf-8")
    out = tmp_path / "s.jsonl"
    out.write_text("previous run\n")
    with pytest.raises(ArchiveError, match="in.jsonl:2"):
        score_to_file(model, iter_comments([src]), out, progress=False)
    assert out.read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unsupported_output_format(model, tmp_path):
    with pytest.raises(InputError, match="unsupported output format"):
        score_to_file(model, iter(()), tmp_path / "s.xlsx", progress=False)


# ── streaming inputs, resume after an interruption ──────────────────────────────────────────

import os
import signal
import subprocess
import sys
import time

from moderation.batch import describe_inputs, partial_progress, score_files
from moderation.errors import ModelError
from moderation.model import load_model, resolve_model_dir

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["you idiot", "nice article, thanks", "what the fuck", "the talks resumed", "", "we will hang him"]


def write_jsonl(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"c{i}", "text": f"{TEXTS[i % len(TEXTS)]} {i}" if i % 7 else ""}) + "\n")
    return path


def records_of(path: Path) -> list:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return path.read_bytes().splitlines()


def stop_after(comments, n: int):
    """The comments, then a crash after `n` of them (what a power cut or a dead worker looks like)."""
    for i, comment in enumerate(comments):
        if i == n:
            raise RuntimeError("simulated crash")
        yield comment


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_parquet_input(model, tmp_path):
    import pyarrow as pa

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [3, 4], "text": ["you idiot", "nice article"]}), src)
    out = tmp_path / "s.jsonl"
    summary = score_files(model, [src], out, progress=False)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["3", "4"]
    assert summary.scored == 2


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_resume_after_a_crash_equals_an_uninterrupted_run(model, tmp_path, suffix):
    src = write_jsonl(tmp_path / "in.jsonl", 1000)
    whole = tmp_path / f"whole{suffix}"
    expected = score_files(model, [src], whole, progress=False, chunk_size=100)

    out = tmp_path / f"s{suffix}"
    source = describe_inputs([src])
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_to_file(model, stop_after(iter_comments([src]), 350), out, progress=False, chunk_size=100,
                      source=source)
    assert not out.exists()
    assert partial_progress(out)[1] == 300  # three whole chunks are safe; the fourth was never written
    messages = []
    summary = score_to_file(model, iter_comments([src]), out, progress=False, chunk_size=100, source=source,
                            resume=True, log=messages.append)
    assert "300 comments already scored" in messages[0]
    assert records_of(out) == records_of(whole)
    assert summary.as_dict() == expected.as_dict()  # the summary counts the first run's records too
    assert hidden(tmp_path) == [] and partial_progress(out) is None


def test_resume_drops_a_torn_last_record(model, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 500)
    whole = tmp_path / "whole.jsonl"
    score_files(model, [src], whole, progress=False, chunk_size=100)
    out = tmp_path / "s.jsonl"
    with pytest.raises(RuntimeError):
        score_to_file(model, stop_after(iter_comments([src]), 250), out, progress=False, chunk_size=100,
                      source=describe_inputs([src]))
    partial, _ = partial_progress(out)
    with open(partial, "a", encoding="utf-8") as fh:  # a record half-written when the power went
        fh.write('{"id": "c200", "article": null, "sco')
    score_files(model, [src], out, progress=False, chunk_size=100, resume=True)
    assert out.read_bytes() == whole.read_bytes()


def test_resume_refuses_changed_inputs_model_or_software(model, models_dir, tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl", 300)
    out = tmp_path / "s.csv"
    with pytest.raises(RuntimeError):
        score_to_file(model, stop_after(iter_comments([src]), 150), out, progress=False, chunk_size=100,
                      source=describe_inputs([src]))
    other = load_model(resolve_model_dir(models_dir))
    other.save(tmp_path / "models", version="another-version")
    with pytest.raises(ModelError, match="scored with model .* this run uses another-version"):
        score_files(load_model(tmp_path / "models"), [src], out, progress=False, resume=True)
    with open(src, "a", encoding="utf-8") as fh:
        fh.write('{"id": "late", "text": "added after the crash"}\n')
    with pytest.raises(InputError, match=f"cannot resume: {src} changed"):
        score_files(model, [src], out, progress=False, resume=True)
    assert partial_progress(out)[1] == 100  # a refused resume keeps the partial
    import moderation.batch

    real = moderation.batch._software()
    monkeypatch.setattr(moderation.batch, "_software", lambda: real | {"numpy": "0.0"})
    with pytest.raises(InputError, match=f"the software changed since the interrupted run \\(numpy {real['numpy']} → 0.0\\)"):
        score_files(model, [src], out, progress=False, resume=True)
    monkeypatch.undo()
    messages = []
    score_files(model, [src], out, progress=False, log=messages.append)  # without --resume: start over
    assert "replacing the partial output" in messages[0] and "--resume" in messages[0]
    assert len(out.read_text().splitlines()) == 302  # header + 301
    messages.clear()
    score_files(model, [src], out, progress=False, resume=True, log=messages.append)
    assert messages[0].startswith("nothing to resume")


def test_two_runs_cannot_share_an_output(model, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 300)
    out = tmp_path / "s.jsonl"

    def second_run_midway(comments):
        for i, comment in enumerate(comments):
            if i == 150:
                with pytest.raises(InputError, match="another `moderation score` is writing it"):
                    score_files(model, [src], out, progress=False)
            yield comment

    score_to_file(model, second_run_midway(iter_comments([src])), out, progress=False, chunk_size=100,
                  source=describe_inputs([src]))
    assert len(out.read_text().splitlines()) == 300


# `moderation score` with the partial counted in its state after every chunk (not once a second):
# a kill then lands between two counted chunks of the short runs below.
SCORE_SYNCING_EVERY_CHUNK = ("import sys; from moderation import batch, cli; batch.SYNC_SECONDS = 0; "
                             "sys.exit(cli.main(sys.argv[1:]))")


def test_kill_9_then_resume(models_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 8000)
    command = [sys.executable, "-c", SCORE_SYNCING_EVERY_CHUNK, "score", str(src), "--model", str(models_dir),
               "--workers", "1", "--chunk-size", "100", "--quiet"]
    whole, out = tmp_path / "whole.jsonl", tmp_path / "s.jsonl"
    subprocess.run([*command, "--out", str(whole)], check=True, capture_output=True, cwd=ROOT)

    run = subprocess.Popen([*command, "--out", str(out)], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while (partial_progress(out) or (None, 0))[1] < 200 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not out.exists()
    kept = partial_progress(out)[1]
    assert 200 <= kept < 8000

    resumed = subprocess.run([*command, "--out", str(out), "--resume"], capture_output=True, text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} comments already scored" in resumed.stderr
    assert "scored 6857 of 8000" in resumed.stdout
    assert out.read_bytes() == whole.read_bytes()
    assert hidden(tmp_path) == []


# ── all cores, and a Dask cluster ───────────────────────────────────────────────────────────


def _loads_here() -> tuple[int, dict]:
    """Runs in a worker: this process's id and how often it loaded each model."""
    from moderation import batch

    return os.getpid(), dict(batch._WORKER_LOADS)


def test_forked_workers_share_the_loaded_model(model, tmp_path, monkeypatch):
    import moderation.batch
    import moderation.model

    if not moderation.batch.FORK:
        pytest.skip("workers are forked only on Linux")
    src = write_jsonl(tmp_path / "in.jsonl", 3000)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_files(model, [src], one, progress=False)

    def no_loading(path):
        raise AssertionError("a forked worker loaded the model again")

    monkeypatch.setattr(moderation.model, "load_model", no_loading)  # inherited by the forked workers
    score_files(model, [src], two, progress=False, workers=2, chunk_size=100)  # no model_dir needed
    assert one.read_bytes() == two.read_bytes()


def test_loky_workers_load_the_model_once_each(model, models_dir, tmp_path, monkeypatch):
    import moderation.batch
    from moderation.batch import _local_pool

    monkeypatch.setattr(moderation.batch, "FORK", False)  # as on a platform without fork
    src = write_jsonl(tmp_path / "in.jsonl", 3000)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_files(model, [src], one, progress=False)
    score_files(model, [src], two, progress=False, workers=2, model_dir=resolve_model_dir(models_dir),
                chunk_size=100)
    assert one.read_bytes() == two.read_bytes()
    pool = _local_pool(2)  # the same worker processes, reused
    states = dict(f.result() for f in [pool.submit(_loads_here) for _ in range(8)])
    assert any(states.values()) and all(set(loads.values()) == {1} for loads in states.values() if loads)


def test_an_input_error_on_workers_leaves_nothing(model, models_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 1000)
    with open(src, "a", encoding="utf-8") as fh:
        fh.write('{"id": "c5", "text": "again"}\n')
    with pytest.raises(ArchiveError, match="in.jsonl:1001: id: duplicate id 'c5', first used on line 6"):
        score_files(model, [src], tmp_path / "s.jsonl", progress=False, workers=2, chunk_size=100,
                    model_dir=resolve_model_dir(models_dir))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_dask_cluster_gives_the_same_output(model, models_dir, tmp_path, capsys):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from moderation.cli import main

    src = write_jsonl(tmp_path / "in.jsonl", 3000)
    local = tmp_path / "local.jsonl"
    score_files(model, [src], local, progress=False)
    out = tmp_path / "dask.jsonl"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert main(["score", str(src), "--out", str(out), "--model", str(models_dir), "--quiet",
                     "--chunk-size", "250", "--scheduler", cluster.scheduler_address]) == 0
        with Client(cluster) as client:
            loads = client.run(_loads_here)
    assert out.read_bytes() == local.read_bytes()
    assert "scored 2571 of 3000" in capsys.readouterr().out
    assert len(loads) == 2 and all(state == {str(resolve_model_dir(models_dir)): 1} for _, state in loads.values())


def test_scheduler_without_dask_is_a_clear_error(models_dir, tmp_path, monkeypatch, capsys):
    from moderation.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    src = write_jsonl(tmp_path / "in.jsonl", 10)
    assert main(["score", str(src), "--out", str(tmp_path / "s.jsonl"), "--model", str(models_dir),
                 "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "pip install 'moderation[dask]'" in capsys.readouterr().err
    assert hidden(tmp_path) == []


def _die(*args):
    os._exit(3)  # a worker process killed mid-run (out of memory, say)


@pytest.mark.parametrize("fork", [True, False])
def test_a_failure_that_is_not_the_inputs_keeps_the_partial(model, tmp_path, monkeypatch, fork):
    import moderation.batch

    if fork and not moderation.batch.FORK:
        pytest.skip("workers are forked only on Linux")
    monkeypatch.setattr(moderation.batch, "FORK", fork)
    src = write_jsonl(tmp_path / "in.jsonl", 300)
    out = tmp_path / "s.jsonl"
    with pytest.raises(RuntimeError):
        score_to_file(model, stop_after(iter_comments([src]), 150), out, progress=False, chunk_size=100,
                      source=describe_inputs([src]))
    if fork:  # the forked workers run the parent's code: make them die
        monkeypatch.setattr(moderation.batch, "score_chunk", _die)
        with pytest.raises(Exception, match="process"):  # BrokenProcessPool: a process terminated abruptly
            score_files(model, [src], out, progress=False, resume=True, workers=2, chunk_size=100)
    else:
        with pytest.raises(ModelError, match="no model here"):  # the workers cannot load the model
            score_files(model, [src], out, progress=False, resume=True, workers=2, model_dir=tmp_path / "gone")
    assert partial_progress(out)[1] == 100


# ── chunks cut from blocks of columns; how often the partial is counted in its state ─────────

from moderation import batch
from moderation.inputs import Columns


def test_chunks_are_cut_from_blocks_of_any_size():
    def block(start, n, archive=False):
        ids = [f"c{i}" for i in range(start, start + n)]
        fields = [[f"a{i}" for i in range(start, start + n)], list(range(start, start + n)), [None] * n,
                  [f"u{i}" for i in range(start, start + n)]] if archive else [None] * 4
        return Columns(ids, [f"t{i}" for i in range(start, start + n)], *fields)

    sizes = [3, 0, 5, 1, 7, 2, 2, 4]
    blocks, start = [], 0
    for k, n in enumerate(sizes):
        blocks.append(block(start, n, archive=k % 3 == 1))
        start += n
    rows = [row for b in blocks for row in batch._rows(b)]
    for size in (1, 2, 4, 5, 24, 100):
        for skip in (0, 1, 3, 8, 23, 24, 30):
            chunks = list(batch._rechunked(iter(blocks), size, skip=skip))
            assert [len(c.ids) for c in chunks[:-1]] == [size] * (len(chunks) - 1)
            assert [row for c in chunks for row in batch._rows(c)] == rows[skip:]
    assert rows[9] == ("c9", "a9", 9, None, "u9", "t9") and rows[0] == ("c0", None, None, None, None, "t0")


def test_workers_score_archive_pages_and_records_alike(model, tmp_path):
    if not batch.FORK:
        pytest.skip("workers are forked only on Linux")
    src = write_jsonl(tmp_path / "in.jsonl", 500)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_files(model, [SEEDS, src], one, progress=False)
    score_files(model, [SEEDS, src], two, progress=False, workers=2, chunk_size=7)  # chunks across pages and files
    assert one.read_bytes() == two.read_bytes()
    assert b'"parent": "001_4e2df06bc1a1437c:4"' in two.read_bytes()


def states_seen(comments, out: Path, at: tuple[int, ...], seen: dict):
    """The comments; on reaching each index of `at`, how many comments the state of `out` counts."""
    for i, comment in enumerate(comments):
        if i in at:
            seen[i] = partial_progress(out)[1]
        yield comment


def test_the_state_is_rewritten_once_sync_records_comments_are_written(model, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "SYNC_RECORDS", 300)
    monkeypatch.setattr(batch, "SYNC_SECONDS", float("inf"))
    src = write_jsonl(tmp_path / "in.jsonl", 1000)
    out, seen = tmp_path / "s.jsonl", {}
    saves = []
    real = batch._Partial._save_state
    monkeypatch.setattr(batch._Partial, "_save_state", lambda self, written: saves.append(written) or real(self, written))
    score_to_file(model, states_seen(iter_comments([src]), out, (450, 650, 850), seen), out, progress=False,
                  chunk_size=100, source=describe_inputs([src]))
    assert seen == {450: 300, 650: 600, 850: 600}  # 400, 600 and 800 comments written by then
    assert [w.records for w in saves] == [0, 300, 600, 900, 1000]  # the start, every 300, the end
    assert len(out.read_bytes().splitlines()) == 1000


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_a_kill_between_two_states_redoes_what_the_state_does_not_count(model, tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(batch, "SYNC_RECORDS", 300)
    monkeypatch.setattr(batch, "SYNC_SECONDS", float("inf"))
    src = write_jsonl(tmp_path / "in.jsonl", 1000)
    whole = tmp_path / f"whole{suffix}"
    score_files(model, [src], whole, progress=False, chunk_size=100)
    out = tmp_path / f"s{suffix}"
    source = describe_inputs([src])
    with monkeypatch.context() as killed:
        killed.setattr(batch._Partial, "keep", lambda self: None)  # a SIGKILL leaves no time to count the rest
        with pytest.raises(RuntimeError):
            score_to_file(model, stop_after(iter_comments([src]), 550), out, progress=False, chunk_size=100,
                          source=source)
    assert partial_progress(out)[1] == 300  # 500 are written: the state counts those of its last rewrite
    messages = []
    score_to_file(model, iter_comments([src]), out, progress=False, chunk_size=100, source=source, resume=True,
                  log=messages.append)
    assert "300 comments already scored" in messages[0]
    assert records_of(out) == records_of(whole)
    assert hidden(tmp_path) == []


def interrupted_after(comments, n: int):
    """The comments, then Ctrl+C after `n` of them."""
    for i, comment in enumerate(comments):
        if i == n:
            raise KeyboardInterrupt
        yield comment


def test_an_interrupted_run_counts_every_chunk_it_wrote(model, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "SYNC_SECONDS", float("inf"))
    src = write_jsonl(tmp_path / "in.jsonl", 1000)
    whole, out = tmp_path / "whole.csv", tmp_path / "s.csv"
    score_files(model, [src], whole, progress=False, chunk_size=100)
    with pytest.raises(KeyboardInterrupt):
        score_to_file(model, interrupted_after(iter_comments([src]), 550), out, progress=False, chunk_size=100,
                      source=describe_inputs([src]))
    assert partial_progress(out)[1] == 500  # never counted while running (20,000 is far), all of it on Ctrl+C
    score_files(model, [src], out, progress=False, chunk_size=100, resume=True)
    assert out.read_bytes() == whole.read_bytes()


def test_the_heap_is_frozen_for_the_run_only(model, tmp_path):
    import gc

    src = write_jsonl(tmp_path / "in.jsonl", 300)
    frozen = []

    def watched(comments):
        for comment in comments:
            frozen.append(gc.get_freeze_count())
            yield comment

    gc.unfreeze()  # an in-process `moderation score` (cli.main) of an earlier test left its start-up frozen
    score_to_file(model, watched(iter_comments([src])), tmp_path / "s.jsonl", progress=False, chunk_size=100,
                  source=describe_inputs([src]))
    assert min(frozen[100:]) > 0  # the model's objects (and all others) sat out every collection
    assert gc.get_freeze_count() == 0


def test_the_youngest_generation_is_collected_less_often_during_a_run_only(model, tmp_path):
    import gc

    src = write_jsonl(tmp_path / "in.jsonl", 300)
    before = gc.get_threshold()
    seen = []

    def watched(comments):
        for comment in comments:
            seen.append(gc.get_threshold())
            yield comment

    score_to_file(model, watched(iter_comments([src])), tmp_path / "s.jsonl", progress=False, chunk_size=100,
                  source=describe_inputs([src]))
    assert {t[0] for t in seen} == {max(before[0], 20_000)} and {t[1:] for t in seen} == {before[1:]}
    assert gc.get_threshold() == before


def _children(pid: int) -> list[int]:
    """The ids of the live processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers and /proc: Linux")
def test_forked_workers_end_with_a_killed_parent(models_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 8000)
    run = subprocess.Popen([sys.executable, "-m", "moderation.cli", "score", str(src), "--model", str(models_dir),
                            "--workers", "2", "--chunk-size", "50", "--quiet", "--out", str(tmp_path / "s.jsonl")],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(workers := _children(run.pid)) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(workers) == 2, "the run did not fork its two workers"
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 20
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, workers)), "a worker outlived its killed parent"


# Ctrl+C arriving just after the pool forked a worker, before the pool noted it (as an interrupt
# in the first second of a run could): the run must still stop, not wait for that worker for ever.
INTERRUPTED_MID_FORK = """
import os, signal, sys
import multiprocessing.context
from moderation import cli

popen = multiprocessing.context.ForkProcess._Popen
def interrupted(process_obj):
    started = popen(process_obj)
    os.kill(os.getpid(), signal.SIGINT)
    return started
multiprocessing.context.ForkProcess._Popen = staticmethod(interrupted)
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers: Linux")
def test_ctrl_c_while_the_workers_are_forked_stops_the_run(models_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 300)
    out = tmp_path / "s.jsonl"
    try:
        done = subprocess.run([sys.executable, "-c", INTERRUPTED_MID_FORK, "score", str(src), "--model",
                               str(models_dir), "--workers", "2", "--quiet", "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the interrupted run hung")
    assert done.returncode == 130, done.stderr
    assert "interrupted: no output was written" in done.stderr
    assert not out.exists()
