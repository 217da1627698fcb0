from mailcheck.cli import main

main(prog_name="mailcheck")
