# fish completion for mailcheck: loads the script the installed mailcheck generates for its own click
# version, so this file never goes stale. Copy to ~/.config/fish/completions/mailcheck.fish.
if command -q mailcheck
    mailcheck completion fish | source
end
