from django.utils.translation import gettext as _


class AccountError(Exception):
    """Base of the client-account domain's errors; the pages show the message as it is.

    `code` is stable and machine-readable; the message is for people, in their language.
    """

    code = "account_error"


class EmailAlreadyRegistered(AccountError):
    code = "email_taken"

    def __init__(self):
        super().__init__(_("This email address already has a PhoneExport account. "
                           "Choose another one, or ask us to move it to your company."))


class CannotChangeYourself(AccountError):
    """An account admin cannot demote or deactivate themselves: the company would risk
    being left with nobody to manage it."""

    code = "cannot_change_yourself"

    def __init__(self):
        super().__init__(_("You cannot change your own role or deactivate yourself. "
                           "Ask another account admin of your company."))


class UserInactive(AccountError):
    code = "user_inactive"

    def __init__(self):
        super().__init__(_("This user is deactivated: reactivate them first."))


class InvitationNotSent(AccountError):
    code = "invitation_not_sent"

    def __init__(self):
        super().__init__(_("The invitation email could not be sent. Try “Send the invitation "
                           "again” in a few minutes."))
