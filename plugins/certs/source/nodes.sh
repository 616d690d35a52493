# kubecerts: the certificates of this node, one line per file (format: see
# plugins/certs/source/runcommand). Only `openssl x509 -noout` fields are
# printed: never a certificate, never a key (kubelet-client-current.pem holds
# the kubelet's private key). Lines are short so that ~20 files fit the 4,096
# bytes of output Azure keeps.
echo '#kubecerts-node v1'
n=0
command -v openssl >/dev/null 2>&1 || { echo 'x|openssl: command not found'; echo '#kubecerts-end 0'; exit 0; }
k() {
  f=$1 n=$((n + 1))
  if [ ! -e "$f" ]; then echo "a|$f"; return; fi
  if ! o=$(openssl x509 -in "$f" -noout -nameopt RFC2253 -subject -startdate -enddate -fingerprint -sha256 2>&1); then
    echo "e|$f|$(printf '%s\n' "$o" | grep -v ':error:' | head -n 1 | cut -c1-120)"
    return
  fi
  s= b= a= p=
  while IFS= read -r l; do
    case $l in
      subject=*) s=${l#subject=} ;;
      notBefore=*) b=${l#notBefore=} ;;
      notAfter=*) a=${l#notAfter=} ;;
      *[Ff]ingerprint=*) p=${l#*=} ;;
    esac
  done <<END
$o
END
  # Unix seconds where date converts them (GNU date), else openssl's form.
  if d=$(printf '%s\n%s\n' "$b" "$a" | date -u -f - +%s 2>/dev/null); then set -- $d; b=$1 a=$2; fi
  printf 'c|%s|%s|%s|%s|%.64s\n' "$b" "$a" "$(echo "$p" | sed 's/://g; y/ABCDEF/abcdef/')" "$f" "$s"
}
#FILES#
echo "#kubecerts-end $n"
