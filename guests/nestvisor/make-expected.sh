#!/bin/sh
# make-expected.sh - regenerate nestvisor's golden outputs: for each L2 guest listed in
# guests/nestvisor/l2-guests, run guests/nestvisor.elf with it as its module under Bochs
# (guests/bochs-run.sh) and save what COM1 printed as guests/nestvisor-NAME.expected.
#
#   sh guests/nestvisor/make-expected.sh [NAME]...     (default: every listed guest)
set -eu
cd "$(dirname "$0")/../.."
grep -v '^#' guests/nestvisor/l2-guests | while read -r name module; do
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    sh guests/bochs-run.sh guests/nestvisor.elf "$module" > "guests/nestvisor-$name.expected"
    if ! grep -q "^nestvisor: VMX off" "guests/nestvisor-$name.expected"; then
        echo "$0: $name: Bochs did not run it to the end (see guests/nestvisor-$name.expected)" >&2
        exit 1
    fi
    echo "wrote guests/nestvisor-$name.expected"
done
