"""Process set-up shared by the fake upstream and the load generator."""
import asyncio
import resource


def raise_fd_limit():
    """Thousands of connections need thousands of descriptors: soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def use_fast_event_loop():
    """uvloop when installed (neither the fake nor the client may be the bottleneck)."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def cpu_seconds():
    """This process's CPU time so far: user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
