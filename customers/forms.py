import re

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from customers.models import ShippingAddress, User


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


class InviteUserForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices,
                             initial=User.Role.BUYER)
    language = forms.ChoiceField(label=_("Language of their emails"),
                                 choices=settings.LANGUAGES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices)


class ShippingAddressForm(forms.ModelForm):
    make_default = forms.BooleanField(label=_("Use as the default address"), required=False)

    class Meta:
        model = ShippingAddress
        fields = ["label", "company_name", "contact_name", "phone", "line1", "line2", "city",
                  "region", "postal_code", "country"]

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise forms.ValidationError(_("Enter the two-letter country code, e.g. US."))
        return country

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if not re.fullmatch(r"\+?[0-9 ().-]{6,40}", phone):
            raise forms.ValidationError(_("Enter a phone number: digits, spaces, and + ( ) - ."))
        return phone

    def address_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ClientPasswordResetForm(PasswordResetForm):
    """Django's reset form, for invited users too, writing in each user's own language."""

    def get_users(self, email):
        # Django skips users without a usable password; ours are invited users who have not
        # chosen one yet (we have no other kind), and the reset is how they recover a lost
        # invitation.
        return User.objects.filter(email__iexact=email.strip(), is_active=True)

    def send_mail(self, subject_template_name, email_template_name, context, from_email,
                  to_email, html_email_template_name=None):
        with translation.override(context["user"].language):
            super().send_mail(subject_template_name, email_template_name, context, from_email,
                              to_email, html_email_template_name)
