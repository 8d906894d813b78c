"""The demo's job runner: order, dependencies, the process pool, logs and failures.

The jobs are standard-library functions (importable by name in a spawned worker) so that
the test needs no module of its own on the workers' path.
"""
import json

import pytest

from mmdense.demo.jobs import Job, run_jobs


def _graph(tmp_path):
    return {
        'parse': Job(json.loads, dict(s='{"value": [1, 2], "name": "x"}'), title='parse',
                     log=str(tmp_path / 'parse' / 'job.log')),
        'other': Job(json.dumps, dict(obj={'b': 1, 'a': 2}, sort_keys=True), title='other'),
        'dump': Job(json.dumps, dict(sort_keys=True), title='dump', after='parse',
                    bind=dict(obj='value'), log=str(tmp_path / 'dump.log')),
        'talk': Job(print, dict(end='hello from a job\n', flush=True), title='talk',
                    log=str(tmp_path / 'talk' / 'job.log')),
    }


@pytest.mark.parametrize('workers', [1, 2])
def test_results_follow_dependencies_in_process_and_in_the_pool(tmp_path, workers):
    finished = []
    results = run_jobs(_graph(tmp_path), workers,
                       on_done=lambda key, job, seconds: finished.append((key, seconds)))
    assert results == {'parse': {'value': [1, 2], 'name': 'x'}, 'other': '{"a": 2, "b": 1}',
                       'dump': '[1, 2]', 'talk': None}
    keys = [key for key, _ in finished]
    assert sorted(keys) == sorted(results) and keys.index('parse') < keys.index('dump')
    assert all(seconds >= 0 for _, seconds in finished)
    talk_log = tmp_path / 'talk' / 'job.log'
    if workers == 1:
        assert not talk_log.exists()  # in this process the output is not redirected
    else:
        assert talk_log.read_text() == 'hello from a job\n'


def test_a_failing_job_names_itself_and_its_log(tmp_path):
    graph = {'bad': Job(json.loads, dict(s='not json'), title='seed 0: parse',
                        log=str(tmp_path / 'bad.log')),
             'good': Job(json.dumps, dict(obj=1), title='dump')}
    with pytest.raises(RuntimeError, match=r"demo job 'seed 0: parse' failed: JSONDecodeError"
                       r".*its output is in .*bad\.log"):
        run_jobs(graph, 2)


def test_a_job_must_wait_for_an_earlier_one():
    graph = {'first': Job(json.dumps, dict(obj=1), after='second'),
             'second': Job(json.dumps, dict(obj=2))}
    with pytest.raises(ValueError, match="job 'first' waits for 'second', which is not an "
                       'earlier job'):
        run_jobs(graph, 1)
