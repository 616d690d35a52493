# kubecerts: the certificates of this node, one line per file (format: see
# plugins/certs/source/runcommand). Only `openssl x509 -noout` fields are
# printed: never a certificate, never a key (kubelet-client-current.pem holds
# the kubelet's private key). Lines are short so that ~20 files fit the 4,096
# bytes of output Azure keeps. Everything is printed with printf '%s': echo
# in dash reads backslash escapes (\n, \0174) in a path as a line break or a
# '|', which would forge records.
printf '%s\n' '#kubecerts-node v1'
n=0
nl='
'
cr=$(printf '\r')
command -v openssl >/dev/null 2>&1 || { printf '%s\n' 'x|openssl: command not found' '#kubecerts-end 0'; exit 0; }
k() {
  f=$1
  # A name a line cannot carry (a file the glob found): not checked.
  case $f in *'|'* | *"$nl"* | *"$cr"*)
    printf '%s\n' "x|a file name with '|' or a line break, which the output cannot carry: not checked"
    return ;;
  esac
  n=$((n + 1))
  if [ ! -e "$f" ]; then printf 'a|%s\n' "$f"; return; fi
  if ! o=$(openssl x509 -in "$f" -noout -nameopt RFC2253 -subject -startdate -enddate -fingerprint -sha256 2>&1); then
    printf 'e|%s|%s\n' "$f" "$(printf '%s\n' "$o" | grep -v ':error:' | head -n 1 | cut -c1-120)"
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
  printf 'c|%s|%s|%s|%s|%.64s\n' "$b" "$a" "$(printf '%s\n' "$p" | sed 's/://g; y/ABCDEF/abcdef/')" "$f" "$s"
}
#FILES#
printf '#kubecerts-end %s\n' "$n"
