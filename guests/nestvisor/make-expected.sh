#!/bin/sh
# make-expected.sh - regenerate nestvisor's golden outputs: for each L2 guest listed in
# guests/nestvisor/l2-guests, run guests/nestvisor.elf with it as its module under Bochs
# (guests/bochs-run.sh) and save what COM1 printed. With vmx (the default) Bochs' CPU has VMX
# (corei7_sandy_bridge_2600k) and the output goes to guests/nestvisor-NAME.expected; with svm it
# is an AMD model with SVM and nRIP (ryzen) and the output goes to guests/nestvisor-svm-NAME.expected.
#
#   sh guests/nestvisor/make-expected.sh [vmx|svm] [NAME]...     (default: every listed guest)
set -eu
cd "$(dirname "$0")/../.."
backend=vmx
case "${1:-}" in vmx | svm) backend=$1; shift ;; esac
if [ "$backend" = svm ]; then
    prefix=nestvisor-svm
    export BOCHS_CPU=ryzen
else
    prefix=nestvisor
fi
BACKEND=$(echo "$backend" | tr a-z A-Z)
# The listed guests, and the boot sectors (which VMX refuses: their runs end with L2's status 1).
{ grep -v '^#' guests/nestvisor/l2-guests; echo "realmode guests/realmode.bin"; echo "pm16 guests/pm16.bin"; } | while read -r name module; do
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    sh guests/bochs-run.sh guests/nestvisor.elf "$module" > "guests/$prefix-$name.expected"
    if ! grep -q "^nestvisor: $BACKEND off" "guests/$prefix-$name.expected"; then
        echo "$0: $name: Bochs did not run it to the end (see guests/$prefix-$name.expected)" >&2
        exit 1
    fi
    echo "wrote guests/$prefix-$name.expected"
done
