import time, resource, sys
from rawdicom.model import scan as S
def cpu():
    a = resource.getrusage(resource.RUSAGE_SELF); b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime+a.ru_stime, b.ru_utime+b.ru_stime
paths = S.list_files("/tmp/rawdicom-bench-small")
for w in (1, 2, 1, 2):
    c0 = cpu(); t0 = time.perf_counter()
    S.read_records(paths, workers=w)
    c1 = cpu()
    print(w, f"wall {time.perf_counter()-t0:.3f} self {c1[0]-c0[0]:.3f} children {c1[1]-c0[1]:.3f}")
