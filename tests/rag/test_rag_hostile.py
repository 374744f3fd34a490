"""Issue 14's RAG defects, each at its hardest point: empty folders, duplicates, symlinks out of the root,
undecodable names, oversized files, junk and truncated store files, locks, deep HTML, NUL bytes,
markup-like text, numeric QA questions, bad output paths, and Ctrl-C while a store is being created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.rag.rag_testdata import NOTES_TXT, TRAINING_MD

from genforge.cli.main import main
from genforge.core.errors import DataError
from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.config import StoreConfig
from genforge.rag.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedding():
    return SentenceEmbedding()


def _folder(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def test_a_folder_without_supported_files_exits_2_and_leaves_no_store(tmp_path, capsys):
    root = _folder(tmp_path, {"a.png": b"\x89PNG", "b.csv": "x,y\n"})
    assert main(["rag", "index", str(root), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no files of a supported type") and "nothing indexed" in err
    assert not (tmp_path / "s").exists()


def test_near_duplicate_documents_are_skipped_and_reported_unless_no_dedupe(tmp_path, embedding):
    page = TRAINING_MD + "\nSee also the sampling page.\n"
    html = "<html><body><main>" + "".join(f"<p>{p}</p>" for p in page.split("\n\n")) + "</main></body></html>"
    root = _folder(tmp_path, {"a_training.md": TRAINING_MD, "b_training.html": html, "notes.txt": NOTES_TXT})
    report = Store(tmp_path / "s", embedding=embedding).index(root)
    assert report.duplicates == [{"source": "b_training.html", "duplicate_of": "a_training.md"}]
    assert sorted(report.added) == ["a_training.md", "notes.txt"] and report.total_documents == 2
    kept = Store(tmp_path / "all", StoreConfig(dedupe=False), embedding=embedding).index(root)
    assert kept.duplicates == [] and kept.total_documents == 3


def test_a_file_symlink_leaving_the_root_is_not_followed_unless_asked(tmp_path, embedding):
    secret = tmp_path / "secret.txt"
    secret.write_text("The vault code is 4711 and must never be indexed.\n", encoding="utf-8")
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    (root / "leak.txt").symlink_to(secret)
    (root / "inside.txt").symlink_to(root / "notes.txt")
    report = Store(tmp_path / "s", embedding=embedding).index(root)
    assert [s["source"] for s in report.skipped] == ["leak.txt"] and "outside" in report.skipped[0]["reason"]
    assert "inside.txt" in report.added
    followed = Store(tmp_path / "f", StoreConfig(follow_symlinks=True), embedding=embedding).index(root)
    assert "leak.txt" in followed.added


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_warning_and_the_rest_indexed(tmp_path, capsys):
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    with open(os.path.join(os.fsencode(root), b"bad\xff.txt"), "wb") as handle:
        handle.write(b"Some text in a file with a broken name.\n")
    store = str(tmp_path / "s")
    for _ in range(2):  # and a re-run does not fail either
        assert main(["rag", "index", str(root), "--store", store]) == 0
        err = capsys.readouterr().err
        assert "warning: skipped bad\\xff.txt: file name is not valid UTF-8" in err


def test_a_file_over_the_size_cap_is_skipped_with_a_warning_naming_it(tmp_path, embedding):
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT, "big.txt": "word " * 300_000})
    report = Store(tmp_path / "s", StoreConfig(max_file_mb=1), embedding=embedding).index(root)
    assert report.skipped == [
        {"source": "big.txt", "reason": "larger than 1 MB (raise --max-file-mb to index it)"}
    ]
    assert report.added == ["notes.txt"]


def test_a_junk_store_file_is_one_line_and_is_left_as_it_was(tmp_path, capsys):
    store = tmp_path / "s"
    store.mkdir()
    (store / "store.sqlite").write_bytes(b"this is not a database at all, just junk bytes" * 100)
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    for argv in (
        ["rag", "search", "bread", "--store", str(store)],
        ["rag", "index", str(root), "--store", str(store)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith(f"error: {store / 'store.sqlite'} is not a genforge RAG store")
            and err.count("\n") == 1
        )
    assert (store / "store.sqlite").read_bytes().startswith(b"this is not a database")


def test_a_truncated_vector_segment_is_repaired_by_the_next_index_run(tmp_path, embedding):
    root = _folder(tmp_path, {"training.md": TRAINING_MD, "notes.txt": NOTES_TXT})
    store = Store(tmp_path / "s", embedding=embedding)
    store.index(root)
    expected = [h.chunk_id for h in store.search("sourdough starter", k=3, retriever="dense")]
    store.close()
    segment = next((tmp_path / "s" / "vectors").iterdir())
    segment.write_bytes(segment.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"is damaged .*run 'genforge rag index' again to repair it"):
        Store(tmp_path / "s", embedding=embedding).search("sourdough starter", retriever="dense")
    report = Store(tmp_path / "s", embedding=embedding).index(root)
    assert report.vectors_repaired > 0 and report.unchanged == 2
    repaired = Store(tmp_path / "s", embedding=embedding)
    assert [h.chunk_id for h in repaired.search("sourdough starter", k=3, retriever="dense")] == expected


def test_a_locked_store_says_that_it_waits_and_lock_timeout_bounds_the_wait(tmp_path, capsys):
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    store = tmp_path / "s"
    store.mkdir()
    holder = textwrap.dedent(f"""
        import fcntl, os, time
        fd = os.open({str(store / "write.lock")!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert main(["rag", "index", str(root), "--store", str(store), "--lock-timeout", "0.3"]) == 2
    finally:
        proc.kill()
        proc.wait()
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert err.startswith(f"note: {store} is locked by another process; waiting up to 0.3 s error: ")
    assert "--lock-timeout" in err


def test_deep_html_keeps_its_text_and_nul_bytes_are_never_stored(tmp_path, embedding):
    deep = "<div>" * 300 + "<p>Deep inside sits the kiln temperature note.</p>" + "</div>" * 300
    html = (
        f"<html><body><main>{deep}<p>After the deep part the glaze recipe follows.</p></main></body></html>"
    )
    nul = "Plain text. " * 800 + "The ferry\x00 leaves at noon.\n"
    root = _folder(tmp_path, {"deep.html": html, "nul.txt": nul})
    store = Store(tmp_path / "s", embedding=embedding)
    report = store.index(root)
    assert sorted(report.added) == ["deep.html", "nul.txt"] and report.skipped == []
    texts = " ".join(text for _, _, text in store.catalog.chunk_texts())
    assert "kiln temperature" in texts and "glaze recipe follows" in texts
    assert "\x00" not in texts and "ferry leaves at noon" in texts


def test_document_text_that_looks_like_markup_is_printed_as_is(tmp_path, capsys):
    text = "Timing\n\nThe [/time] tag and [bold]loud[/bold] words and [a-z] ranges and [link=http://x]here[/link].\n"
    root = _folder(tmp_path, {"markup.md": text})
    store = str(tmp_path / "s")
    assert main(["rag", "index", str(root), "--store", store]) == 0
    capsys.readouterr()
    assert main(["rag", "search", "[/bold] tag ranges", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "[/bold]" in out and "[a-z]" in out
    assert main(["rag", "ask", "What is the [/time] tag?", "--store", store, "--no-guard"]) == 0
    out = capsys.readouterr().out
    assert "[/time]" in out


def test_a_qa_file_with_a_numeric_question_is_one_line(tmp_path, capsys):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": 42, "sources": ["a.md"]}) + "\n", encoding="utf-8")
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    store = str(tmp_path / "s")
    assert main(["rag", "index", str(root), "--store", store]) == 0
    capsys.readouterr()
    assert main(["rag", "eval", str(qa), "--store", store, "--no-answers"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {qa}:1 needs 'question' (text)") and err.count("\n") == 1


def test_rag_index_into_a_store_path_that_is_a_file_is_one_line_before_any_work(tmp_path, capsys):
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    target = tmp_path / "a-file"
    target.write_text("keep me", encoding="utf-8")
    assert main(["rag", "index", str(root), "--store", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "a-file" in err and err.count("\n") == 1
    assert target.read_text(encoding="utf-8") == "keep me"


def test_ctrl_c_while_the_store_is_created_leaves_no_store_and_the_next_index_works(tmp_path, embedding):
    """A real SIGINT lands while the catalog is being written (held open there by a sleep)."""
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    store = tmp_path / "s"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import genforge.rag.catalog as catalog
        real = catalog._transaction
        def slow(db, begin="BEGIN IMMEDIATE"):
            print("creating", flush=True)
            time.sleep(60)
            return real(db, begin)
        catalog._transaction = slow
        from genforge.rag.store import Store
        Store({str(store)!r}).index({str(root)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "creating"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) != 0
    assert not (store / "store.sqlite").exists()
    assert not Store(store).exists()
    with pytest.raises(DataError, match="no RAG store"):
        Store(store, embedding=embedding).stats()
    report = Store(store, embedding=embedding).index(root)
    assert report.added == ["notes.txt"]
    assert not list(store.glob("store.sqlite.tmp-*"))


def test_index_reports_progress_per_committed_batch_ending_at_the_total(tmp_path, embedding):
    root = _folder(
        tmp_path, {f"note{i}.txt": NOTES_TXT.replace("twelve", f"{i + 2} dozen") for i in range(4)}
    )
    calls = []
    config = StoreConfig(batch_chunks=1, dedupe=False)
    Store(tmp_path / "s", config, embedding=embedding).index(
        root, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_qa_file_naming_an_unknown_page_is_one_line_before_indexing(tmp_path, capsys):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"id": "q1", "question": "Why?", "sources": ["missing.txt"]}) + "\n")
    root = _folder(tmp_path, {"notes.txt": NOTES_TXT})
    store = tmp_path / "s"
    assert main(["rag", "eval", str(qa), "--corpus", str(root), "--store", str(store), "--no-answers"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {qa}:1 names unknown page(s) missing.txt") and err.count("\n") == 1
    assert not store.exists()  # refused before any indexing
