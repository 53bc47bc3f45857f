from pipelines.cli import run

run()
