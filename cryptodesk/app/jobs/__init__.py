"""Jobs: a spec in, typed events and a pickle-free result out, in a worker process or inline.

- :mod:`.events`: the events a job streams (progress, model scored, epoch loss, forecast batch,
  log line, done, failed, cancelled);
- :mod:`.wire`: the pickle-free byte format they travel in;
- :mod:`.context`: the task context that turns a job's reports into throttled events;
- :mod:`.runner`: which function each job kind runs;
- :mod:`.worker` / :mod:`.pool`: worker processes and the handle of a job running in one;
- :mod:`.inline`: the same job in this process (the CLI).
"""
