#!/usr/bin/env python3
"""Hold every packet for a fixed time: a one-way delay for the lab's router.

This kernel has no netem. Run inside the router namespace; packets the router
forwards are policy-routed into the TUN device this program opens (ip rule iif
r0/r1 -> table 100 -> dev TUN), and it writes each one back into the device after
DELAY_MS; coming back in through the TUN, they are routed by the main table to
their real interface. Usage: delay-tun.py TUN DELAY_MS  (runs until killed).
"""
import fcntl
import heapq
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    name, delay = sys.argv[1], float(sys.argv[2]) / 1000.0
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    print("ready", flush=True)
    queue = []  # (release time, sequence, packet)
    seq = 0
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, pkt = heapq.heappop(queue)
            os.write(fd, pkt)
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            pkt = os.read(fd, 65536)
            seq += 1
            heapq.heappush(queue, (time.monotonic() + delay, seq, pkt))


if __name__ == "__main__":
    main()
