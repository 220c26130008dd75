#!/usr/bin/perl
# sa-rdns-dynamic.pl — SpamAssassin's RDNS_DYNAMIC, evaluated as SpamAssassin
# would on the last untrusted relay, without running spamassassin.
#
# Usage: sa-rdns-dynamic.pl RULES_DIR_OR_FILE... < "IP PTR" lines
# Prints "PTR<TAB>1" (flagged) or "PTR<TAB>0" per input line.
#
# The rules are READ from the installed SpamAssassin rule files at run time
# (Debian: /usr/share/spamassassin/*.cf or sa-update's copy under
# /var/lib/spamassassin), never copied into this repository: the `meta`
# expression of RDNS_DYNAMIC names `header` sub-rules, which are matched
# against the X-Spam-Relays-Untrusted line SpamAssassin builds for a client
# that connected directly:
#   [ ip=IP rdns=PTR helo=PTR by=mx.bench.invalid ident= envfrom= intl=0 id=B1 auth= msa=0 ]
# A sub-rule on another header is matched against that header as a message
# straight from the client would have it (X-Spam-Relays-Trusted and the
# rest empty); a sub-rule that is not a header regex (eval:, body ...)
# counts as false and is named on stderr once, so the approximation shows.
use strict;
use warnings;

my (%header, %meta, %warned);
my @files;
for my $arg (@ARGV) {
    if (-d $arg) { push @files, sort glob("$arg/*.cf") }
    elsif (-f $arg) { push @files, $arg }
    else { die "sa-rdns-dynamic.pl: $arg: no such rule file or directory\n" }
}
die "usage: sa-rdns-dynamic.pl RULES_DIR_OR_FILE... < 'IP PTR' lines\n" unless @files;

for my $file (@files) {
    open(my $fh, '<', $file) or die "sa-rdns-dynamic.pl: $file: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        $line =~ s/^\s+//;
        next if $line =~ /^(#|$)/;
        if ($line =~ /^header\s+(\S+)\s+(\S+)\s+(=~|!~)\s+(.*?)\s*$/) {
            my ($name, $hdr, $op, $re) = ($1, $2, $3, $4);
            $hdr =~ s/:.*//; # "X-Spam-Relays-Untrusted:raw" and the like
            # Compiled on first use: only the rules RDNS_DYNAMIC reaches matter.
            $header{$name} = [$hdr, $op, $re, "$file:$."];
        } elsif ($line =~ /^meta\s+(\S+)\s+(.*?)\s*$/) {
            $meta{$1} = $2;
        }
    }
    close $fh;
}
die "sa-rdns-dynamic.pl: no 'meta RDNS_DYNAMIC' in @files\n" unless exists $meta{RDNS_DYNAMIC};

# "/re/flags" or "m{re}flags" to a compiled regex, as SpamAssassin accepts them.
sub compile_re {
    my ($text, $where) = @_;
    $text =~ s/\s+\[if-unset:.*\]$//; # SpamAssassin's default for a missing header
    $text =~ s/\s+#.*$//;              # trailing comment
    my ($re, $flags);
    if ($text =~ m{^/(.*)/([a-z]*)$}) { ($re, $flags) = ($1, $2) }
    elsif ($text =~ m{^m(.)(.*)(.)([a-z]*)$}s) { ($re, $flags) = ($2, $4) }
    else { warn "sa-rdns-dynamic.pl: $where: regex not understood: $text\n"; return }
    $flags =~ tr/imsx//cd;
    my $rx = eval { $flags ? qr/(?$flags)$re/ : qr/$re/ };
    warn "sa-rdns-dynamic.pl: $where: $@" unless $rx;
    return $rx;
}

my %memo;
sub rule_value {
    my ($name, $headers, $depth) = @_;
    return $memo{$name} if exists $memo{$name};
    die "sa-rdns-dynamic.pl: meta nesting too deep at $name\n" if $depth > 50;
    my $v = 0;
    if (my $h = $header{$name}) {
        my ($hdr, $op, $re, $where) = @$h;
        my $rx = ref $re ? $re : compile_re($re, $where);
        die "sa-rdns-dynamic.pl: $name ($where) does not compile\n" unless $rx;
        $h->[2] = $rx;
        my $text = $headers->{lc $hdr} // '';
        my $m = $text =~ $rx ? 1 : 0;
        $v = $op eq '=~' ? $m : 1 - $m;
    } elsif (exists $meta{$name}) {
        my $expr = $meta{$name};
        $expr =~ s/\b([A-Za-z_][A-Za-z0-9_]*)\b/rule_value($1, $headers, $depth + 1)/ge;
        $v = eval($expr) ? 1 : 0;
        die "sa-rdns-dynamic.pl: meta $name: cannot evaluate '$meta{$name}': $@" if $@;
    } else {
        warn "sa-rdns-dynamic.pl: $name is not a header regex rule; counted as false\n"
            unless $warned{$name}++;
    }
    return $memo{$name} = $v;
}

while (my $line = <STDIN>) {
    my ($ip, $ptr) = split ' ', $line;
    next unless defined $ptr;
    my $relay = "[ ip=$ip rdns=$ptr helo=$ptr by=mx.bench.invalid ident= envfrom= intl=0 id=B1 auth= msa=0 ]";
    my %headers = (
        'x-spam-relays-untrusted' => $relay,
        'x-spam-relays-external'  => $relay,
        'x-spam-relays-trusted'   => '',
        'x-spam-relays-internal'  => '',
        'all-untrusted'           => $relay,
        'all-external'            => $relay,
    );
    %memo = ();
    print "$ptr\t", rule_value('RDNS_DYNAMIC', \%headers, 0), "\n";
}
