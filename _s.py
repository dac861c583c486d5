import numpy as np, time, accel, sys
n=1_000_000
grid=np.linspace(0,1,n)
terms=[1.0+0.7**m+0.3**m*grid for m in range(14)]
x,y=terms[0].copy(),terms[1].copy()
def axpy():
    a=time.thread_time(); np.add(y, x, out=y); return time.thread_time()-a
units=[]; pushes=[]
st=accel.accelerator("sablonniere", order=2)
for t in terms[:8]: st.push(t)
for rep in range(8):
    for t in terms[8:]:
        units.append(axpy())
        a=time.thread_time(); st.push(t); pushes.append(time.thread_time()-a)
u=min(units)
print("axpy ms", u*1e3, "push/axpy min", min(pushes)/u, "p10", sorted(pushes)[len(pushes)//10]/u)
