import time, os
from rawdicom.model.scan import list_files
d="/tmp/rawdicom-bench-scan/10000"
for _ in range(3):
    t0=time.process_time(); p=list_files(d); t1=time.process_time()
    q=[]
    for root, dirs, files in os.walk(d):
        q += [os.path.join(root, f) for f in files]
    q.sort(); t2=time.process_time()
    print(len(p), f"list_files {(t1-t0)/len(p)*1e6:.1f} us/file; os.walk+sort {(t2-t1)/len(p)*1e6:.1f} us/file")
