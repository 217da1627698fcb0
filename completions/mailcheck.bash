# bash completion for mailcheck: loads the script the installed mailcheck generates for its own click
# version, so this file never goes stale. Copy to ~/.local/share/bash-completion/completions/mailcheck.
if command -v mailcheck >/dev/null 2>&1; then
    eval "$(mailcheck completion bash)"
fi
