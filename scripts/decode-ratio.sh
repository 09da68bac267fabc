#!/usr/bin/env bash
# The Lunkr read's decoder against Yunzhijia's (issue 18: within twice its
# cost for 200 members). Each benchmark moves with the machine's load, so
# the two run side by side, five times, and each pair is compared.
set -euo pipefail
GO=${GO:-go}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$GO test -c -o "$dir/lunkr.test" ./internal/vendors/lunkr
$GO test -c -o "$dir/yunzhijia.test" ./internal/vendors/yunzhijia
ns() { "$1" -test.run '^$' -test.bench "^$2\$" -test.benchtime 1s | awk '/^Benchmark/ {print $3}'; }
echo "lunkr_ns yunzhijia_ns ratio"
worst=0
for _ in 1 2 3 4 5; do
	l=$(ns "$dir/lunkr.test" BenchmarkDecodeInfo)
	y=$(ns "$dir/yunzhijia.test" BenchmarkDecodeGroupUsers)
	r=$(awk -v l="$l" -v y="$y" 'BEGIN {printf "%.2f", l / y}')
	echo "$l $y $r"
	worst=$(awk -v a="$worst" -v b="$r" 'BEGIN {print (b > a) ? b : a}')
done
if awk -v w="$worst" 'BEGIN {exit !(w > 2)}'; then
	echo "the lunkr decoder costs ${worst}x the yunzhijia decoder's, over the 2x bound" >&2
	exit 1
fi
echo "worst ratio ${worst}x (bound 2x)"
