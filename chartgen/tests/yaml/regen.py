#!/usr/bin/env python3
"""Regenerate the golden files of chartgen/tests/yaml.rs with real Helm.

For every cases/NAME.yaml (a values file), renders a one-template chart with
`helm template -f NAME.yaml` and writes cases/NAME.json with what Helm's toYaml,
toJson, toPrettyJson and toRawJson print for .Values, or the error Helm reports.
Usage: regen.py [HELM] (default /work/main/.tools/bin/helm).
"""
import base64, json, os, re, subprocess, sys, tempfile

HELM = sys.argv[1] if len(sys.argv) > 1 else "/work/main/.tools/bin/helm"
HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
TEMPLATE = """yaml: {{ toYaml .Values | b64enc | quote }}
json: {{ toJson .Values | b64enc | quote }}
pretty: {{ toPrettyJson .Values | b64enc | quote }}
raw: {{ toRawJson .Values | b64enc | quote }}
toml: {{ toToml .Values | b64enc | quote }}
"""

def main():
    with tempfile.TemporaryDirectory() as chart:
        os.makedirs(os.path.join(chart, "templates"))
        with open(os.path.join(chart, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: c\nversion: 0.1.0\n")
        open(os.path.join(chart, "values.yaml"), "w").close()
        with open(os.path.join(chart, "templates", "t.yaml"), "w") as f:
            f.write(TEMPLATE)
        for name in sorted(os.listdir(CASES)):
            if not name.endswith(".yaml"):
                continue
            path = os.path.join(CASES, name)
            p = subprocess.run([HELM, "template", chart, "-f", path], capture_output=True)
            golden = {}
            if p.returncode != 0:
                err = p.stderr.decode()
                err = err.split("Error: ", 1)[1].strip()
                err = err.replace("failed to parse " + path + ": ", "")
                golden["error"] = err
            else:
                for line in p.stdout.decode().splitlines():
                    m = re.match(r'^(yaml|json|pretty|raw|toml): "(.*)"$', line)
                    if m:
                        golden[m.group(1)] = base64.b64decode(m.group(2)).decode()
            with open(path[:-5] + ".json", "w") as f:
                json.dump(golden, f, indent=1, ensure_ascii=False, sort_keys=True)
                f.write("\n")

main()
