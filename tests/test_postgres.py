"""PostgreSQL, a real throw-away server: the data source of a bake-off and MLflow's backend store."""

import mlflow
import pytest
import sqlalchemy
from conftest import cli, make_classification_frame, only_run, read_result, run_cli, write_card

pytestmark = pytest.mark.postgres

PG_CARD = """
[problem]
name = "{name}"
[data]
source = {{ url = "{source_url}", query = "{query}" }}
target = "label"
[evaluate]
folds = 3
bootstrap = {bootstrap}
[budget]
total = "60s"
per_candidate = "20s"
trials = 2
[ladder]
only = ["constant", "linear"]
[store]
tracking_uri = "{tracking_uri}"
"""


def table_in_postgres(postgres_url: str, table: str, rows: int) -> None:
    engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    make_classification_frame(rows).to_sql(table, engine, if_exists="replace", index=False)
    engine.dispose()


def test_bakeoff_reads_a_postgres_query_and_tracks_to_postgres(tmp_path, postgres_url):
    table_in_postgres(postgres_url, "customers", 300)
    tracking = postgres_url.replace("postgresql://", "postgresql+psycopg://")  # what bakeoff uses
    write_card(tmp_path, PG_CARD.format(name="pg test", source_url=postgres_url, bootstrap=100,
                                        query="SELECT * FROM customers WHERE x1 > -10", tracking_uri=postgres_url))
    done = cli("run", "bakeoff.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = read_result(only_run(tmp_path))
    assert result["provenance"]["rows"] == 300 and result["recommended"] == "linear"
    assert result["tracking_uri"] == tracking
    client = mlflow.MlflowClient(tracking)
    parent = client.get_run(result["mlflow_run_id"])
    assert parent.data.tags["bakeoff.recommended"] == "linear"
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(children) == 2


def test_mlflow_tracking_uri_from_the_environment_wins(tmp_path, postgres_url):
    make_classification_frame(200).to_csv(tmp_path / "d.csv", index=False)
    tracking = postgres_url.replace("postgresql://", "postgresql+psycopg://")
    done = cli("run", "d.csv", "--target", "label", "--only", "constant", "--budget", "30s",
               cwd=tmp_path, env={"MLFLOW_TRACKING_URI": tracking})
    assert done.returncode == 0, done.stderr
    result = read_result(only_run(tmp_path))
    assert result["tracking_uri"] == tracking and not (tmp_path / ".bakeoff" / "mlflow.db").exists()
    assert mlflow.MlflowClient(tracking).get_run(result["mlflow_run_id"]).info.status == "FINISHED"


def test_passwords_stay_out_of_run_folders_mlflow_and_the_terminal(tmp_path, postgres_url):
    """The throw-away server trusts local connections, so any password gets in: one written in
    the card and one from ${VARIABLE} must both stay out of everything the run writes."""
    table_in_postgres(postgres_url, "pw_customers", 200)
    scheme, rest = postgres_url.split("://", 1)
    user_host = rest.split("@", 1)
    user, host = (user_host[0].split(":")[0], user_host[1]) if len(user_host) == 2 else ("postgres", rest)
    written = f"{scheme}://{user}:Written-s3cret@{host}"
    from_env = f"{scheme}://{user}:${{BAKEOFF_TEST_PW}}@{host}"
    write_card(tmp_path, PG_CARD.format(name="pw test", source_url=from_env, bootstrap=50,
                                        query="SELECT * FROM pw_customers", tracking_uri=written))
    done = run_cli("run", "bakeoff.toml", cwd=tmp_path, env={"BAKEOFF_TEST_PW": "Env-s3cret"})
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = only_run(tmp_path)
    result = read_result(run_dir)
    assert ":***@" in result["tracking_uri"] and "${BAKEOFF_TEST_PW}" in (run_dir / "card.json").read_text()
    for path in [p for p in run_dir.rglob("*") if p.is_file()]:
        assert b"s3cret" not in path.read_bytes(), path
    assert "s3cret" not in done.stdout + done.stderr
    client = mlflow.MlflowClient(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    params = client.get_run(result["mlflow_run_id"]).data.params
    assert params and not any("s3cret" in str(v) for v in params.values())
    missing = cli("run", "bakeoff.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "environment variable BAKEOFF_TEST_PW" in missing.stderr
