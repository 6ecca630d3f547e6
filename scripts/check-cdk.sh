#!/usr/bin/env bash
# Type-checks every ```ts block of docs/asg-guide.md (the hand-written CDK sketches) with
# `tsc --strict --noEmit` against pinned aws-cdk-lib, constructs and TypeScript from the npm
# registry. Everything (packages, npm's cache, the extracted snippets) lives in one temp dir,
# removed on exit. Measured on the 2-core CI machine: about 14 s to install (88 MB download,
# 209 MB unpacked) and 7 s to type-check. Needs node and npm (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

AWS_CDK_LIB=2.276.0
CONSTRUCTS=10.8.1
TYPESCRIPT=5.9.3

command -v npm >/dev/null || { echo "check-cdk: npm is missing: run scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/snippets"
count=$(awk -v dir="$work/snippets" '
    /^```ts$/ { inside = 1; n++; file = sprintf("%s/guide-%02d.ts", dir, n); next }
    inside && /^```$/ { inside = 0; close(file); next }
    inside { print > file }
    END { print n + 0 }
' docs/asg-guide.md)
if [ "$count" -eq 0 ]; then
    echo "check-cdk: no \`\`\`ts block in docs/asg-guide.md" >&2
    exit 1
fi

cat > "$work/package.json" <<JSON
{ "name": "asg-guide-cdk-snippets", "version": "0.0.0", "private": true }
JSON
cat > "$work/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2020", "module": "commonjs", "strict": true, "noEmit": true,
    "skipLibCheck": true, "types": []
  },
  "include": ["snippets/*.ts"]
}
JSON
(
    cd "$work"
    npm install --cache "$work/npm-cache" --no-audit --no-fund --ignore-scripts --loglevel=error \
        "aws-cdk-lib@$AWS_CDK_LIB" "constructs@$CONSTRUCTS" "typescript@$TYPESCRIPT" >/dev/null
)
if ! (cd "$work" && ./node_modules/.bin/tsc -p .); then
    echo "check-cdk: a CDK snippet of docs/asg-guide.md does not type-check against aws-cdk-lib $AWS_CDK_LIB" \
         "(guide-NN.ts is the NNth \`\`\`ts block)" >&2
    exit 1
fi
echo "check-cdk: $count CDK snippets of docs/asg-guide.md type-check against aws-cdk-lib $AWS_CDK_LIB"
