"""Route guide gRPC server on Python grpcio, for the grpc task's end-to-end tests.

The message types are built from descriptors written out below (no protoc, no generated
code); they match tests/grpc/route_guide.proto (Point in a file of its own, imported). The server listens on 127.0.0.1, port 0 unless
given, and prints `PORT <n>` once it serves. Test controls, by request metadata:
  delay-ms: <n>    sleep n milliseconds before answering
  record-to: <path>
                   append what each request carried to the file (GetFeature: "lat,lon";
                   RouteChat: each note's message), one line each
  fail-every: <n>  every n-th call of the server (counted over all calls) fails with INTERNAL
  stall-after: <n>, stall-ms: <m>
                   the server stalls for m milliseconds after its n-th call: every call
                   answered in that window waits for its end
With --tls CERT KEY it serves TLS; with --client-ca CA it also requires client certificates.
With --reflection v1 and/or --reflection v1alpha it also serves server reflection on those
versions (grpcio-reflection).
With --min-ping-interval-ms N it accepts a client's keepalive PINGs as often as every N ms
(grpcio's own policy, without it: more than two PINGs while it sends nothing, within 5 minutes,
and it closes the connection with GOAWAY too_many_pings).
With --http-dir DIR it also serves the files of DIR over HTTP on another loopback port, and
prints `HTTP <n>` (for the proto and data URLs of the experiments).
"""

import argparse
import functools
import http.server
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

FIELD = descriptor_pb2.FieldDescriptorProto


def build_pool():
    """The route guide's descriptors in two files, as a real service might split them: Point in
    routeguide/point.proto, the rest and the service in route_guide.proto, which imports it."""
    point_file = descriptor_pb2.FileDescriptorProto(
        name="routeguide/point.proto", package="routeguide", syntax="proto3"
    )
    f = descriptor_pb2.FileDescriptorProto(
        name="route_guide.proto", package="routeguide", syntax="proto3",
        dependency=["routeguide/point.proto"],
    )

    def message(file, name, fields):
        m = file.message_type.add(name=name)
        for number, (fname, ftype, type_name) in enumerate(fields, start=1):
            fd = m.field.add(
                name=fname, number=number, type=ftype, label=FIELD.LABEL_OPTIONAL
            )
            if type_name:
                fd.type_name = type_name

    point = ".routeguide.Point"
    message(point_file, "Point", [("latitude", FIELD.TYPE_INT32, None), ("longitude", FIELD.TYPE_INT32, None)])
    message(f, "Rectangle", [("lo", FIELD.TYPE_MESSAGE, point), ("hi", FIELD.TYPE_MESSAGE, point)])
    message(f, "Feature", [("name", FIELD.TYPE_STRING, None), ("location", FIELD.TYPE_MESSAGE, point)])
    message(f, "RouteNote", [("location", FIELD.TYPE_MESSAGE, point), ("message", FIELD.TYPE_STRING, None)])
    message(
        f, "RouteSummary",
        [(n, FIELD.TYPE_INT32, None) for n in ("point_count", "feature_count", "distance", "elapsed_time")],
    )
    svc = f.service.add(name="RouteGuide")
    for name, arg, ret, cs, ss in [
        ("GetFeature", "Point", "Feature", False, False),
        ("ListFeatures", "Rectangle", "Feature", False, True),
        ("RecordRoute", "Point", "RouteSummary", True, False),
        ("RouteChat", "RouteNote", "RouteNote", True, True),
    ]:
        svc.method.add(
            name=name, input_type=".routeguide." + arg, output_type=".routeguide." + ret,
            client_streaming=cs, server_streaming=ss,
        )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(point_file)
    pool.Add(f)
    return pool


def build_types(pool):
    factory = message_factory.MessageFactory(pool)
    return {
        n: factory.GetPrototype(pool.FindMessageTypeByName("routeguide." + n))
        for n in ("Point", "Rectangle", "Feature", "RouteNote", "RouteSummary")
    }


POOL = build_pool()
T = build_types(POOL)

# A few named places (latitude, longitude in 1e-7 degrees); the first is the tutorial's point.
PLACES = [
    ("Mendham, NJ", 407838351, -746143763),
    ("Lake Hopatcong, NJ", 409146138, -746188906),
    ("Sussex, NJ", 411450106, -747455720),
    ("Bushkill, PA", 411733222, -744228360),
    ("Newton, NJ", 410248224, -747127767),
    ("Hackettstown, NJ", 408122808, -743999179),
    ("Stanhope, NJ", 409224445, -748286738),
    ("Milford, PA", 413628156, -749015468),
]
FEATURES = [T["Feature"](name=n, location=T["Point"](latitude=a, longitude=o)) for n, a, o in PLACES]


class Controls:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = 0
        self.stall_until = 0.0

    def apply(self, context):
        md = dict(context.invocation_metadata())
        with self.lock:
            self.calls += 1
            n = self.calls
            if n == int(md.get("stall-after", "0")):
                self.stall_until = time.monotonic() + int(md.get("stall-ms", "0")) / 1000.0
            stall = self.stall_until - time.monotonic()
        if stall > 0:
            time.sleep(stall)
        every = int(md.get("fail-every", "0"))
        if every > 0 and n % every == 0:
            context.abort(grpc.StatusCode.INTERNAL, "failing call %d as asked" % n)
        delay = int(md.get("delay-ms", "0"))
        if delay > 0:
            time.sleep(delay / 1000.0)


CONTROLS = Controls()
RECORD_LOCK = threading.Lock()


def record(context, text):
    """Appends `text` (what a request carried) to the file named by the record-to metadata."""
    path = dict(context.invocation_metadata()).get("record-to")
    if path:
        with RECORD_LOCK, open(path, "a") as f:
            f.write(text + "\n")


def get_feature(point, context):
    CONTROLS.apply(context)
    record(context, "%d,%d" % (point.latitude, point.longitude))
    for f in FEATURES:
        if f.location.latitude == point.latitude and f.location.longitude == point.longitude:
            return f
    return T["Feature"](name="", location=point)


def list_features(rect, context):
    CONTROLS.apply(context)
    lo_lat, hi_lat = sorted((rect.lo.latitude, rect.hi.latitude))
    lo_lon, hi_lon = sorted((rect.lo.longitude, rect.hi.longitude))
    for f in FEATURES:
        if lo_lat <= f.location.latitude <= hi_lat and lo_lon <= f.location.longitude <= hi_lon:
            yield f


def record_route(points, context):
    CONTROLS.apply(context)
    start = time.time()
    count = features = 0
    for p in points:
        count += 1
        features += sum(
            1 for f in FEATURES
            if f.location.latitude == p.latitude and f.location.longitude == p.longitude
        )
    return T["RouteSummary"](
        point_count=count, feature_count=features, distance=0, elapsed_time=int(time.time() - start)
    )


def route_chat(notes, context):
    CONTROLS.apply(context)
    for note in notes:
        record(context, note.message)
        yield note


def handler():
    def ser(m):
        return m.SerializeToString()

    def de(name):
        return T[name].FromString

    return grpc.method_handlers_generic_handler(
        "routeguide.RouteGuide",
        {
            "GetFeature": grpc.unary_unary_rpc_method_handler(
                get_feature, request_deserializer=de("Point"), response_serializer=ser
            ),
            "ListFeatures": grpc.unary_stream_rpc_method_handler(
                list_features, request_deserializer=de("Rectangle"), response_serializer=ser
            ),
            "RecordRoute": grpc.stream_unary_rpc_method_handler(
                record_route, request_deserializer=de("Point"), response_serializer=ser
            ),
            "RouteChat": grpc.stream_stream_rpc_method_handler(
                route_chat, request_deserializer=de("RouteNote"), response_serializer=ser
            ),
        },
    )


def add_reflection(server, versions):
    """Server reflection by grpcio-reflection (PyPI; tools/deps.sh puts it in .tools/python) for
    the route guide and itself. That package serves grpc.reflection.v1alpha only; v1 has the same
    messages under another service name, so the same servicer answers there too."""
    from grpc_reflection.v1alpha import reflection, reflection_pb2

    names = {"v1alpha": reflection.SERVICE_NAME, "v1": "grpc.reflection.v1.ServerReflection"}
    servicer = reflection.ReflectionServicer(
        ["routeguide.RouteGuide"] + [names[v] for v in versions], pool=POOL
    )
    for v in versions:
        server.add_generic_rpc_handlers((
            grpc.method_handlers_generic_handler(names[v], {
                "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                    servicer.ServerReflectionInfo,
                    request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                    response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
                ),
            }),
        ))


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request on stderr."""

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--client-ca")
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--http-dir")
    ap.add_argument("--reflection", action="append", choices=["v1", "v1alpha"], default=[])
    ap.add_argument("--min-ping-interval-ms", type=int)
    args = ap.parse_args()
    options = []
    if args.min_ping_interval_ms is not None:
        options = [
            ("grpc.http2.min_ping_interval_without_data_ms", args.min_ping_interval_ms),
            ("grpc.http2.max_ping_strikes", 0),
        ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers), options=options)
    server.add_generic_rpc_handlers((handler(),))
    if args.reflection:
        add_reflection(server, args.reflection)
    addr = "127.0.0.1:%d" % args.port
    if args.tls:
        cert, key = (open(p, "rb").read() for p in args.tls)
        ca = open(args.client_ca, "rb").read() if args.client_ca else None
        creds = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
        )
        port = server.add_secure_port(addr, creds)
    else:
        port = server.add_insecure_port(addr)
    server.start()
    print("PORT %d" % port, flush=True)
    if args.http_dir:
        files = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0),
            functools.partial(QuietFiles, directory=args.http_dir),
        )
        threading.Thread(target=files.serve_forever, daemon=True).start()
        print("HTTP %d" % files.server_address[1], flush=True)
    # Stop when the test closes our stdin (or kills us).
    try:
        sys.stdin.read()
    finally:
        server.stop(0)


if __name__ == "__main__":
    main()
