#!/usr/bin/python3
"""A client of the A/B/n service (main.ABN) for tests/abn.rs, on Python grpcio with stubs
generated at start from runner/proto/abn.proto by grpc_tools.protoc (Debian python3-grpc-tools):
a client we did not write in Rust. Prints one JSON document on stdout.

Commands:
  lookups ADDR APP USERS ROUNDS      every user looked up ROUNDS times, in rounds
  write ADDR APP METRIC USERS SPEC   per user: Lookup, then WriteMetric of the value SPEC gives
                                     its track: {"<track>": [v1, v2, ...]} (all values written)
  stream ADDR APP METRIC             WriteMetric "1" for users u0, u1, ... one at a time until an
                                     error; prints each acknowledged count on stderr as it goes
  errors ADDR APP                    the status code and message of bad calls
  data ADDR APP                      GetApplicationData
"""
import importlib
import json
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runner", "proto")


def stubs():
    out = tempfile.mkdtemp(prefix="abn-stubs-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    rc = protoc.main(["protoc", "-I" + PROTO, "-I" + include, "--python_out=" + out,
                      "--grpc_python_out=" + out, os.path.join(PROTO, "abn.proto")])
    if rc != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out)
    return importlib.import_module("abn_pb2"), importlib.import_module("abn_pb2_grpc")


def main():
    pb, pb_grpc = stubs()
    cmd, addr, app = sys.argv[1], sys.argv[2], sys.argv[3]
    channel = grpc.insecure_channel(addr)
    stub = pb_grpc.ABNStub(channel)
    if cmd == "lookups":
        users, rounds = int(sys.argv[4]), int(sys.argv[5])
        seen = {}
        for _ in range(rounds):
            for u in range(users):
                user = "user-%d" % u
                track = stub.Lookup(pb.Application(name=app, user=user), timeout=10).track
                seen.setdefault(user, set()).add(track)
        unstable = sum(1 for s in seen.values() if len(s) != 1)
        assignment = {u: sorted(s)[0] for u, s in seen.items()}
        counts = {}
        for t in assignment.values():
            counts[t] = counts.get(t, 0) + 1
        print(json.dumps({"calls": users * rounds, "unstable": unstable,
                          "assignment": assignment, "tracks": counts}))
    elif cmd == "write":
        metric, users, spec = sys.argv[4], int(sys.argv[5]), json.loads(sys.argv[6])
        written = {}
        pending = []
        for u in range(users):
            user = "user-%d" % u
            track = stub.Lookup(pb.Application(name=app, user=user), timeout=10).track
            for v in spec[track]:
                # Many calls in flight: the service acknowledges each after its group commit.
                pending.append(stub.WriteMetric.future(pb.MetricValue(
                    name=metric, value=str(v), application=app, user=user), timeout=30))
                written[track] = written.get(track, 0) + 1
            if len(pending) >= 500:
                for f in pending:
                    f.result()
                pending = []
        for f in pending:
            f.result()
        print(json.dumps({"written": written}))
    elif cmd == "stream":
        metric = sys.argv[4]
        acked = 0
        error = None
        while acked < 1000000:
            try:
                stub.WriteMetric(pb.MetricValue(name=metric, value="1", application=app,
                                                user="u%d" % acked), timeout=10)
            except grpc.RpcError as e:
                error = "%s: %s" % (e.code().name, e.details())
                break
            acked += 1
            print(acked, file=sys.stderr, flush=True)
        print(json.dumps({"acked": acked, "error": error}))
    elif cmd == "errors":
        out = {}
        calls = {
            "unknown-app": lambda: stub.Lookup(pb.Application(name="nope/none", user="u"), timeout=10),
            "no-user": lambda: stub.Lookup(pb.Application(name=app, user=""), timeout=10),
            "write-no-user": lambda: stub.WriteMetric(pb.MetricValue(name="m", value="1", application=app, user=""), timeout=10),
            "write-unknown-app": lambda: stub.WriteMetric(pb.MetricValue(name="m", value="1", application="nope/none", user="u"), timeout=10),
            "not-a-number": lambda: stub.WriteMetric(pb.MetricValue(name="m", value="abc", application=app, user="u"), timeout=10),
            "data-unknown-app": lambda: stub.GetApplicationData(pb.ApplicationRequest(application="nope/none"), timeout=10),
        }
        for name, call in calls.items():
            try:
                call()
                out[name] = ["OK", ""]
            except grpc.RpcError as e:
                out[name] = [e.code().name, e.details()]
        print(json.dumps(out))
    elif cmd == "data":
        r = stub.GetApplicationData(pb.ApplicationRequest(application=app), timeout=10)
        print(r.applicationJson)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
