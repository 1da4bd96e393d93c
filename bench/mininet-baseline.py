#!/usr/bin/python3
"""mininet-baseline.py N: Mininet's Python API building N hosts on one Linux
bridge (LinuxBridge switch, no controller). Prints
    up SECONDS      (build + start)
    down SECONDS    (stop)
Exits 3 when Mininet is not installed."""
import sys
import time

try:
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.nodelib import LinuxBridge
    from mininet.topo import SingleSwitchTopo
except ImportError as e:
    print("mininet unavailable: %s" % e, file=sys.stderr)
    sys.exit(3)


def main():
    n = int(sys.argv[1])
    setLogLevel("error")
    net = Mininet(topo=SingleSwitchTopo(n), switch=LinuxBridge, controller=None,
                  build=False, autoSetMacs=False, waitConnected=False)
    stopped = False
    try:
        t0 = time.monotonic()
        net.build()
        net.start()
        print("up %.6f" % (time.monotonic() - t0), flush=True)
        t0 = time.monotonic()
        net.stop()
        stopped = True
        print("down %.6f" % (time.monotonic() - t0), flush=True)
    finally:
        if not stopped:
            net.stop()


if __name__ == "__main__":
    main()
