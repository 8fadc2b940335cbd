"""What a store setting names, read before anything is opened: an SQLite file's path, or a
PostgreSQL URL that stays text (never rebased, never given a directory) and carries no
password (refused, in the configuration and in ``--db``, with a message that says where the
password goes and does not repeat it). A pid file has its own setting, beside an SQLite store
unless set."""

from __future__ import annotations

from pathlib import Path

import pytest

from isoill.cli import main
from isoill.config import ConfigError, load
from isoill.store.errors import StoreError
from isoill.store.setting import check_setting, is_url, store_setting

URL = "postgresql://isoill@db.example/isoill?sslmode=verify-full"
WITH_PASSWORDS = (
    "postgresql://isoill:s3cret@db.example/isoill",
    "postgres://isoill:@db.example/isoill",
    "postgresql:///isoill?host=/run/postgresql&password=s3cret",
    "POSTGRESQL://isoill:s3cret@db1.example:5432,db2.example:5432/isoill",
)


def config(directory: Path, settings: str = "") -> Path:
    path = directory / "etc" / "isoill.toml"
    path.parent.mkdir()
    path.write_text(f'{settings}\n[[listeners]]\nhost = "127.0.0.1"\nport = 1499\n')
    return path


def test_a_url_is_a_url_and_anything_else_a_path() -> None:
    assert is_url(URL) and is_url("postgres://db.example/isoill")
    assert store_setting(URL) == URL  # "//" kept, as a Path would not
    assert store_setting("var/isoill.sqlite3") == Path("var/isoill.sqlite3")
    assert not is_url("postgresql") and not is_url("var/postgresql:x.sqlite3")
    check_setting(URL)
    check_setting(Path("var/isoill.sqlite3"))


@pytest.mark.parametrize("url", WITH_PASSWORDS)
def test_a_url_with_a_password_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(StoreError, match="PGPASSWORD or in a password file") as info:
        check_setting(url)
    assert "s3cret" not in str(info.value) and "db.example" not in str(info.value)


def test_a_url_taken_for_a_path_is_refused() -> None:
    with pytest.raises(StoreError, match="taken for a file's name"):
        check_setting(Path(URL))


def test_a_url_store_in_the_configuration_stays_as_it_is(tmp_path: Path) -> None:
    loaded = load(config(tmp_path, f'store = "{URL}"'))
    assert loaded.store == URL
    assert loaded.pid_file == tmp_path / "etc" / "../var/isoill.pid"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["etc", "isoill.toml"]


def test_the_pid_file_sits_beside_an_sqlite_store_unless_set(tmp_path: Path) -> None:
    beside = load(config(tmp_path, 'store = "db/queue.sqlite3"'))
    assert beside.store == tmp_path / "etc" / "db/queue.sqlite3"
    assert beside.pid_file == tmp_path / "etc" / "db/isoill.pid"
    (tmp_path / "etc" / "isoill.toml").unlink()
    (tmp_path / "etc").rmdir()
    settings = f'store = "{URL}"\npid_file = "run/gateway.pid"'
    assert load(config(tmp_path, settings)).pid_file == tmp_path / "etc" / "run/gateway.pid"


def test_a_password_in_the_configurations_url_is_refused(tmp_path: Path) -> None:
    path = config(tmp_path, f'store = "{WITH_PASSWORDS[0]}"')
    with pytest.raises(ConfigError, match=r"store: .*PGPASSWORD or in a password file") as info:
        load(path)
    assert "s3cret" not in str(info.value)


def test_a_password_in_the_commands_url_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["queue", "list", "--db", WITH_PASSWORDS[0]])
    assert exit_info.value.code == 2  # a usage error, as argparse says it
    error = capsys.readouterr().err
    assert "PGPASSWORD or in a password file" in error and "s3cret" not in error


def test_a_command_on_a_database_out_of_reach_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = f"postgresql://isoill@/isoill?host={tmp_path}&connect_timeout=2"  # no server
    with pytest.raises(SystemExit) as exit_info:
        main(["queue", "list", "--db", nowhere])
    assert exit_info.value.code == 3
    assert f"{nowhere}: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no file taken for the store
